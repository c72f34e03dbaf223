package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/**
 * QLinearConv (opset 10): inputs x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
 * (optional int32 bias in units of {@code x_scale · w_scale}); 8-bit x, w and y (y's type is y_zero_point's);
 * w_scale and w_zero_point per tensor or per output channel; every Conv attribute, 1-D and 2-D.
 * {@code y = saturate(rint((acc + B[c]) · x_scale · w_scale[c] / y_scale) + y_zero_point)} with the integer
 * accumulator of {@link QConvCore}.
 */
public final class QLinearConv implements Op {
    @Override
    public String type() {
        return "QLinearConv";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType ty = ctx.hasInput(7) ? ctx.requireType(7, DType.UINT8, DType.INT8) : DType.UINT8;
        int m = ctx.shape(3).rank() > 0 ? ctx.shape(3).dim(0) : 0;
        checkScales(ctx, 1, 4, 6, m);
        if (ctx.hasInput(8)) {
            ctx.requireType(8, DType.INT32);
            if (ctx.shape(8).rank() != 1 || ctx.shape(8).dim(0) != m) {
                throw ctx.fail("QLinearConv bias must be int32 [" + m + "]; got " + ctx.shape(8));
            }
        }
        boolean hasBias = ctx.hasInput(8);
        return QConvCore.prepare(ctx, "QLinearConv", 0, 2, 3, 5, ty, 7, null, in -> {
            float ys = Elements.toFloats(in[6])[0];
            float[] s = QConvCore.channelScale(Elements.toFloats(in[1])[0], Elements.toFloats(in[4]), m);
            long[] b = hasBias ? Elements.toLongs(in[8]) : null;
            float[] mult = new float[m], add = new float[m];
            for (int c = 0; c < m; c++) {
                mult[c] = s[c] / ys;
                add[c] = b == null ? 0 : b[c] * mult[c];
            }
            return new float[][] {mult, add};
        });
    }

    /** x and y scales are scalars, w's a scalar or one per output channel, all float32. */
    static void checkScales(OpContext ctx, int xs, int ws, int ys, int m) {
        for (int i : new int[] {xs, ws, ys}) {
            ctx.requireType(i, DType.FLOAT32);
            long size = ctx.shape(i).size();
            if (size != 1 && !(i == ws && ctx.shape(i).rank() == 1 && size == m)) {
                throw ctx.fail("scale input " + i + " must be a scalar" + (i == ws ? " or 1-D of size " + m : "")
                        + "; got " + ctx.shape(i));
            }
        }
    }
}
