package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * QuantizeLinear (opsets 10, 13, 19, 21): {@code y = saturate(rint(x / y_scale) + y_zero_point)}, rounding half to
 * even, into uint8 (the default, or the zero point's type) or int8. Per-tensor (a scalar scale) at every opset;
 * per-axis (a 1-D scale along {@code axis}, default 1) from opset 13. x is float32. Refused as unsupported: float16,
 * bfloat16 and int32 x, the float8/int4/16-bit output types of opsets 19–21, and {@code block_size} (blocked
 * quantization, opset 21).
 */
public final class QuantizeLinear implements Op {
    @Override
    public String type() {
        return "QuantizeLinear";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        if (ctx.attrInt("block_size", 0) != 0) {
            throw ctx.unsupported("blocked quantization (block_size) is not supported");
        }
        DType out = DType.UINT8;
        if (ctx.hasInput(2)) {
            out = ctx.requireType(2, DType.UINT8, DType.INT8);
        } else if (ctx.hasAttr("output_dtype")) {
            long code = ctx.attrInt("output_dtype", 0);
            if (code == 2 || code == 3) {
                out = DType.fromOnnx((int) code);
            } else if (code != 0) {
                throw ctx.unsupported("output_dtype " + code + " (supported: uint8 (2), int8 (3))");
            }
        }
        Shape x = ctx.shape(0);
        boolean scalar = ctx.shape(1).size() == 1 && ctx.shape(1).rank() <= 1;
        int axis = 0, axisLen = -1;
        if (!scalar && ctx.opset() >= 13 && x.rank() > 0) {
            axis = QuantSupport.axis(ctx, x.rank(), 1);
            axisLen = x.dim(axis);
        }
        boolean perAxis = QuantSupport.checkScale(ctx, 1, 2, axisLen, "QuantizeLinear");
        long[] parts = perAxis ? QuantSupport.split(x, axis) : new long[] {1, 1, x.size()};
        boolean unsigned = out == DType.UINT8;
        int lo = Quant.min(unsigned), hi = Quant.max(unsigned);
        dev.tandem.runtime.exec.ThreadPool pool = ctx.pool();
        return Prepared.of(out, x, (in, o) -> {
            Tensor xs = in[0].contiguous();
            try {
                float[] scale = QuantSupport.floats(in[1]);
                int[] zero = QuantSupport.zeros(QuantSupport.opt(in, 2), scale.length);
                long off = 0;
                for (long a = 0; a < parts[0]; a++) {
                    for (int c = 0; c < parts[1]; c++, off += parts[2]) {
                        long base = off;
                        int zc = zero[c];
                        float sc = scale[c];
                        QuantSupport.chunked(pool, parts[2], (from, len) -> Quant.quantize(xs.segment(),
                                xs.offset() + base + from, sc, zc, lo, hi, o[0].segment(), o[0].offset() + base + from,
                                len));
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
