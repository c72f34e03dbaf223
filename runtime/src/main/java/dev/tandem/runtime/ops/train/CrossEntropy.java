package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * The arithmetic of {@link SoftmaxCrossEntropy} and its gradient, in float64: PyTorch's {@code cross_entropy} with
 * class weights and label smoothing ε. Per sample i with label y, the target distribution weighted by w is
 * {@code q[c] = (1-ε)·w[y]·[c = y] + ε·w[c]/C}; the loss is {@code -Σ q[c]·log p[c]}, summed, or for "mean"
 * divided by {@code Σ w[y_i]}.
 */
final class CrossEntropy {
    private CrossEntropy() {
    }

    /** The shapes and attributes both ops check. */
    record Setup(int n, int c, double smoothing, boolean mean) {
    }

    static Setup setup(OpContext ctx, int logitsInput, int labelsInput, int weightsInput) {
        Shape s = ctx.shape(logitsInput);
        if (s.rank() != 2) {
            throw ctx.fail("logits must be [N, C]; got " + s);
        }
        ctx.requireType(labelsInput, DType.INT64, DType.INT32);
        if (!ctx.shape(labelsInput).equals(Shape.of(s.dim(0)))) {
            throw ctx.fail("labels must be [" + s.dim(0) + "]; got " + ctx.shape(labelsInput));
        }
        if (ctx.hasInput(weightsInput) && !ctx.shape(weightsInput).equals(Shape.of(s.dim(1)))) {
            throw ctx.fail("weights must be [" + s.dim(1) + "]; got " + ctx.shape(weightsInput));
        }
        double eps = ctx.attrFloat("label_smoothing", 0f);
        if (!(eps >= 0 && eps <= 1)) {
            throw ctx.fail("label_smoothing must be in [0, 1]; got " + eps);
        }
        String reduction = ctx.attrString("reduction", "mean");
        if (!reduction.equals("mean") && !reduction.equals("sum")) {
            throw ctx.unsupported("reduction '" + reduction + "' (mean and sum are supported)");
        }
        return new Setup(s.dim(0), s.dim(1), eps, reduction.equals("mean"));
    }

    static int label(long[] labels, int i, int c) {
        long y = labels[i];
        if (y < 0 || y >= c) {
            throw new ModelException("Label " + y + " of sample " + i + " is outside the " + c + " classes [0, " + c
                    + ")");
        }
        return (int) y;
    }

    /** Row-wise log-softmax of {@code [n, c]} logits. */
    static double[] logSoftmax(double[] z, int n, int c) {
        double[] out = new double[z.length];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                max = Math.max(max, z[i * c + j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                sum += Math.exp(z[i * c + j] - max);
            }
            double lse = max + Math.log(sum);
            for (int j = 0; j < c; j++) {
                out[i * c + j] = z[i * c + j] - lse;
            }
        }
        return out;
    }

    /** The target distribution q of sample i (weighted, smoothed), into {@code q}. */
    static void target(Setup s, int y, double[] w, double[] q) {
        for (int j = 0; j < s.c(); j++) {
            q[j] = s.smoothing() * (w == null ? 1 : w[j]) / s.c();
        }
        q[y] += (1 - s.smoothing()) * (w == null ? 1 : w[y]);
    }

    /** The divisor of the summed loss: 1 for "sum", {@code Σ w[y_i]} (N without weights) for "mean". */
    static double divisor(Setup s, long[] labels, double[] w) {
        if (!s.mean()) {
            return 1;
        }
        double d = 0;
        for (int i = 0; i < s.n(); i++) {
            d += w == null ? 1 : w[label(labels, i, s.c())];
        }
        return d;
    }
}
