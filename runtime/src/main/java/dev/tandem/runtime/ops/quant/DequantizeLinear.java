package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * DequantizeLinear (opsets 10, 13, 19, 21): {@code y = (x − x_zero_point) · x_scale} into float32, x uint8, int8 or
 * int32 (int32 with a zero point of 0 or none, as the spec requires). Per-tensor at every opset; per-axis (a 1-D
 * scale along {@code axis}, default 1) from opset 13. Refused as unsupported: float16/bfloat16 scales, the
 * float8/int4/16-bit input types and {@code block_size}.
 */
public final class DequantizeLinear implements Op {
    @Override
    public String type() {
        return "DequantizeLinear";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.UINT8, DType.INT8, DType.INT32);
        if (ctx.attrInt("block_size", 0) != 0) {
            throw ctx.unsupported("blocked quantization (block_size) is not supported");
        }
        if (ctx.hasInput(2)) {
            ctx.requireType(2, t);
        }
        Shape x = ctx.shape(0);
        boolean scalar = ctx.shape(1).size() == 1 && ctx.shape(1).rank() <= 1;
        int axis = 0, axisLen = -1;
        if (!scalar && ctx.opset() >= 13 && x.rank() > 0) {
            axis = QuantSupport.axis(ctx, x.rank(), 1);
            axisLen = x.dim(axis);
        }
        boolean perAxis = QuantSupport.checkScale(ctx, 1, 2, axisLen, "DequantizeLinear");
        long[] parts = perAxis ? QuantSupport.split(x, axis) : new long[] {1, 1, x.size()};
        boolean unsigned = t == DType.UINT8;
        dev.tandem.runtime.exec.ThreadPool pool = ctx.pool();
        return Prepared.of(DType.FLOAT32, x, (in, o) -> {
            Tensor xs = in[0].contiguous();
            try {
                float[] scale = QuantSupport.floats(in[1]);
                int[] zero = QuantSupport.zeros(QuantSupport.opt(in, 2), scale.length);
                long off = 0;
                for (long a = 0; a < parts[0]; a++) {
                    for (int c = 0; c < parts[1]; c++, off += parts[2]) {
                        if (t == DType.INT32) {
                            for (long i = 0; i < parts[2]; i++) {
                                int q = xs.segment().getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, xs.offset() + off + i);
                                o[0].segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o[0].offset() + off + i,
                                        (float) ((long) q - zero[c]) * scale[c]);
                            }
                        } else {
                            long base = off;
                            int zc = zero[c];
                            float sc = scale[c];
                            QuantSupport.chunked(pool, parts[2], (from, len) -> Quant.dequantize(xs.segment(),
                                    xs.offset() + base + from, unsigned, zc, sc, o[0].segment(),
                                    o[0].offset() + base + from, len));
                        }
                    }
                }
            } finally {
                if (xs != in[0]) {
                    xs.close();
                }
            }
        });
    }
}
