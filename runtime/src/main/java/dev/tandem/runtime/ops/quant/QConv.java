package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/**
 * {@code dev.tandem.QConv}: a quantized convolution with a float bias and an optional fused Relu, which
 * {@link dev.tandem.runtime.graph.passes.QdqFusion} makes from {@code DequantizeLinear → Conv [→ Relu] →
 * QuantizeLinear}. Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point (as
 * QLinearConv) and B (optional float32 [M], real units); Conv's attributes and string {@code activation} ("" or
 * "Relu"). {@code y = saturate(rint(acc · x_scale · w_scale[c] / y_scale + B[c] / y_scale) + y_zero_point)},
 * clamped below at y_zero_point with Relu.
 */
public final class QConv implements Op {
    @Override
    public String type() {
        return "QConv";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType ty = ctx.hasInput(7) ? ctx.requireType(7, DType.UINT8, DType.INT8) : DType.UINT8;
        int m = ctx.shape(3).rank() > 0 ? ctx.shape(3).dim(0) : 0;
        QLinearConv.checkScales(ctx, 1, 4, 6, m);
        boolean hasBias = ctx.hasInput(8);
        if (hasBias) {
            ctx.requireType(8, DType.FLOAT32);
            if (ctx.shape(8).size() != m) {
                throw ctx.fail("QConv bias must be float32 [" + m + "]; got " + ctx.shape(8));
            }
        }
        boolean relu = relu(ctx);
        return QConvCore.prepare(ctx, "QConv", 0, 2, 3, 5, ty, 7, relu, in -> epilogue(in, m, hasBias));
    }

    static boolean relu(OpContext ctx) {
        String a = ctx.attrString("activation", "");
        if (!a.isEmpty() && !a.equals("Relu")) {
            throw ctx.unsupported("activation '" + a + "' (supported: \"\", Relu)");
        }
        return a.equals("Relu");
    }

    /** mult = x_scale · w_scale[c] / y_scale, add = B[c] / y_scale. */
    static float[][] epilogue(dev.tandem.runtime.tensor.Tensor[] in, int m, boolean hasBias) {
        float ys = Elements.toFloats(in[6])[0];
        float[] s = QConvCore.channelScale(Elements.toFloats(in[1])[0], Elements.toFloats(in[4]), m);
        float[] b = hasBias ? Elements.toFloats(in[8]) : null;
        float[] mult = new float[m], add = new float[m];
        for (int c = 0; c < m; c++) {
            mult[c] = s[c] / ys;
            add[c] = b == null ? 0 : b[c] / ys;
        }
        return new float[][] {mult, add};
    }
}
