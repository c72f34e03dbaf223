package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/**
 * Conv (opset 1+), float32 and float64, 1-D and 2-D (3-D is unsupported): all of auto_pad, pads, strides,
 * dilations, group; kernel_shape is taken from W. Float32: with constant W (and B) the weights are packed once and
 * the run uses {@link dev.tandem.runtime.kernels.Conv2d}'s fast paths; otherwise the convolution is prepared on every
 * run. Float64 runs the scalar reference ({@link ConvFloat64}).
 */
public final class Conv implements Op {
    @Override
    public String type() {
        return "Conv";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        return ConvSupport.prepare(ctx, "Conv", Activation.NONE, -1);
    }
}
