#!/usr/bin/env python3
"""Cut MobileNetV2 (models/mobilenet_v2.onnx, from scripts/export-models.py) into single-block models, so that
one block at a time can be timed in Tandem and ONNX Runtime (SideBySide --only tandem|ort --model DIR/X.onnx).

    /usr/bin/python3 scripts/extract-blocks.py [MODEL] [OUT_DIR]     # defaults: models/mobilenet_v2.onnx, models/blocks

Blocks: the stem convolution, block 1 (depthwise + projection), blocks 2, 3 and 17 (expand, depthwise,
projection; block 3 with its residual Add), the last 1x1 convolution and the classifier Gemm. Needs python3-onnx.
"""
import os
import sys

import onnx
import onnx.utils

src = sys.argv[1] if len(sys.argv) > 1 else 'models/mobilenet_v2.onnx'
out = sys.argv[2] if len(sys.argv) > 2 else 'models/blocks'
if not os.path.isfile(src):
    sys.exit('%s: no such model (export it first: /usr/bin/python3 scripts/export-models.py --only mobilenet_v2)'
             % src)
os.makedirs(out, exist_ok=True)
final = onnx.load(src).graph.output[0].name


def conv(block, i):
    return '/features/features.%d/conv/conv.%d/Conv_output_0' % (block, i)


blocks = {
    'stem': (['input'], ['/features/features.0/features.0.2/Clip_output_0']),
    'block1': (['/features/features.0/features.0.2/Clip_output_0'], [conv(1, 1)]),
    'block2': ([conv(1, 1)], [conv(2, 2)]),
    'block3_residual': ([conv(2, 2)], ['/features/features.3/Add_output_0']),
    'block17': (['/features/features.16/Add_output_0'], [conv(17, 2)]),
    'conv18': ([conv(17, 2)], ['/features/features.18/features.18.2/Clip_output_0']),
    'classifier': (['/Flatten_output_0'], [final]),
}
for name, (inputs, outputs) in blocks.items():
    onnx.utils.extract_model(src, os.path.join(out, name + '.onnx'), inputs, outputs)
    print(os.path.join(out, name + '.onnx'))
