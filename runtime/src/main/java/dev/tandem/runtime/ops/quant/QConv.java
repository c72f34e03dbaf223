package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/**
 * {@code dev.tandem.QConv}: a quantized convolution with a float bias and an optional fused clamp, which
 * {@link dev.tandem.runtime.graph.passes.QdqFusion} makes from {@code DequantizeLinear → Conv [→ Relu | Clip] →
 * QuantizeLinear}. Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point (as
 * QLinearConv) and B (optional float32 [M], real units); Conv's attributes, string {@code activation} ("", "Relu"
 * or "Clip") and, for Clip, floats {@code activation_min}/{@code activation_max} (real units, default ∓∞).
 * {@code y = saturate(rint(clamp(acc · x_scale · w_scale[c] / y_scale + B[c] / y_scale, min / y_scale,
 * max / y_scale)) + y_zero_point)}: the activation applied to the real output, then requantized, as the unfused
 * graph does.
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
        return QConvCore.prepare(ctx, "QConv", 0, 2, 3, 5, ty, 7, clamp(ctx), in -> epilogue(in, m, hasBias));
    }

    /** The fused activation's bounds {@code [min, max]} in real units, or null for none. */
    static float[] clamp(OpContext ctx) {
        String a = ctx.attrString("activation", "");
        return switch (a) {
            case "" -> null;
            case "Relu" -> new float[] {0f, Float.POSITIVE_INFINITY};
            case "Clip" -> {
                float lo = ctx.attrFloat("activation_min", Float.NEGATIVE_INFINITY);
                float hi = ctx.attrFloat("activation_max", Float.POSITIVE_INFINITY);
                if (!(lo <= hi)) {
                    throw ctx.fail("activation_min must be <= activation_max; got " + lo + ", " + hi);
                }
                yield new float[] {lo, hi};
            }
            default -> throw ctx.unsupported("activation '" + a + "' (supported: \"\", Relu, Clip)");
        };
    }

    /**
     * The 8-bit output range {@code [low, high]} after a fused clamp {@code [min, max]} (real units; null for
     * none): rint is monotonic, so {@code rint(clamp(v, min/ys, max/ys)) = clamp(rint(v), rint(min/ys),
     * rint(max/ys))}.
     */
    static int[] range(float[] clamp, float ys, int yz, int lo, int hi) {
        if (clamp == null) {
            return new int[] {lo, hi};
        }
        double a = Math.rint((double) (clamp[0] / ys)) + yz, b = Math.rint((double) (clamp[1] / ys)) + yz;
        int low = (int) Math.max(lo, Math.min(hi, a)), high = (int) Math.max(lo, Math.min(hi, b));
        return new int[] {low, high};
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
