package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Int8Arithmetic;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * {@code dev.tandem.QGlobalAveragePool}: the mean of each {@code [n, c]} plane of an 8-bit tensor, requantized, which
 * {@link dev.tandem.runtime.graph.passes.QdqElementwiseFusion} makes from {@code DequantizeLinear →
 * GlobalAveragePool → QuantizeLinear}. Inputs: x (8-bit, {@code [N, C, spatial...]}), x_scale, x_zero_point, y_scale,
 * y_zero_point (float32 and 8-bit scalars known at plan time; the output's type is y_zero_point's). Output
 * {@code [N, C, 1...]}: {@code saturate(rint((Σx / count − x_zero) · x_scale / y_scale) + y_zero)}, the sum exact
 * over the stored integers.
 */
public final class QGlobalAveragePool implements Op {
    @Override
    public String type() {
        return "QGlobalAveragePool";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType tx = ctx.requireType(0, DType.UINT8, DType.INT8);
        DType ty = ctx.hasInput(4) ? ctx.requireType(4, DType.UINT8, DType.INT8) : DType.UINT8;
        Shape x = ctx.shape(0);
        if (x.rank() < 3) {
            throw ctx.fail("QGlobalAveragePool input must be [N, C, spatial...]; got " + x);
        }
        float xs = scalar(ctx, 1), ys = scalar(ctx, 3);
        int xz = zero(ctx, 2, tx), yz = zero(ctx, 4, ty);
        int[] od = x.dims();
        long plane = 1;
        for (int i = 2; i < od.length; i++) {
            plane *= od[i];
            od[i] = 1;
        }
        int planes = x.dim(0) * x.dim(1);
        long count = plane;
        boolean xu = tx == DType.UINT8, yu = ty == DType.UINT8;
        float lo = Quant.min(yu) - yz, hi = Quant.max(yu) - yz;
        return Prepared.of(ty, Shape.of(od), (in, out) -> {
            Tensor xc = in[0].contiguous();
            try {
                for (int p = 0; p < planes; p++) {
                    long sum = Int8Arithmetic.sum(xc.segment(), xc.offset() + p * count, xu, count);
                    float v = (float) (((double) sum / count - xz) * xs / ys);
                    float c = v >= lo ? v : lo;
                    c = c > hi ? hi : c;
                    out[0].segment().set(ValueLayout.JAVA_BYTE, out[0].offset() + p, (byte) (Math.rint(c) + yz));
                }
            } finally {
                if (xc != in[0]) {
                    xc.close();
                }
            }
        });
    }

    private static float scalar(OpContext ctx, int i) {
        Tensor t = ctx.constant(i);
        if (t == null || t.dtype() != DType.FLOAT32 || t.size() != 1) {
            throw ctx.unsupported("QGlobalAveragePool scale input " + i + " must be a float32 scalar known before the "
                    + "model runs");
        }
        return QuantSupport.floats(t)[0];
    }

    private static int zero(OpContext ctx, int i, DType t) {
        if (!ctx.hasInput(i)) {
            return 0;
        }
        ctx.requireType(i, t);
        Tensor z = ctx.constant(i);
        if (z == null || z.size() != 1) {
            throw ctx.unsupported("QGlobalAveragePool zero point input " + i + " must be a scalar known before the "
                    + "model runs");
        }
        return QuantSupport.zeros(z, 1)[0];
    }
}
