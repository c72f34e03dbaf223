package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.kernels.reference.ReferenceLoss;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * What NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss share: the checks of input 0 ({@code [N, C, d1...]},
 * float32 or float64), the target (input 1, int32/int64, {@code [N, d1...]}) and the optional per-class weights
 * (input 2, {@code [C]}, the input's type); the attributes {@code reduction} ("none", "sum", "mean"; default mean)
 * and {@code ignore_index} (optional); and the run, through {@link ReferenceLoss} in double, rounded to the type.
 */
final class LossSupport {
    /** One checked node. */
    record Spec(String op, String node, DType dtype, int n, int c, int d, boolean hasWeight, boolean hasIgnore,
                long ignoreIndex, ReferenceLoss.Reduction reduction, Shape lossShape) {
    }

    private LossSupport() {
    }

    static Spec check(OpContext ctx, String op) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, DType.INT32, DType.INT64);
        Shape x = ctx.shape(0), target = ctx.shape(1);
        if (x.rank() < 2) {
            throw ctx.fail(op + " input must be [N, C, d1, ...]; got " + x);
        }
        boolean fits = target.rank() == x.rank() - 1 && target.dim(0) == x.dim(0);
        for (int i = 1; fits && i < target.rank(); i++) {
            fits = target.dim(i) == x.dim(i + 1);
        }
        if (!fits) {
            throw ctx.fail(op + " target must be [N, d1, ...] for input " + x + "; got " + target);
        }
        int n = x.dim(0), c = x.dim(1);
        long d = 1;
        for (int i = 2; i < x.rank(); i++) {
            d *= x.dim(i);
        }
        boolean hasWeight = ctx.hasInput(2);
        if (hasWeight) {
            ctx.requireType(2, t);
            if (ctx.shape(2).rank() != 1 || ctx.shape(2).dim(0) != c) {
                throw ctx.fail(op + " weights must be [" + c + "]; got " + ctx.shape(2));
            }
        }
        String r = ctx.attrString("reduction", "mean");
        ReferenceLoss.Reduction reduction = switch (r) {
            case "none" -> ReferenceLoss.Reduction.NONE;
            case "sum" -> ReferenceLoss.Reduction.SUM;
            case "mean" -> ReferenceLoss.Reduction.MEAN;
            default -> throw ctx.fail("unknown reduction '" + r + "' (none, sum or mean)");
        };
        boolean hasIgnore = ctx.hasAttr("ignore_index");
        return new Spec(op, ctx.node().describe(), t, n, c, Math.toIntExact(d), hasWeight, hasIgnore,
                ctx.attrInt("ignore_index", 0), reduction,
                reduction == ReferenceLoss.Reduction.NONE ? target : Shape.scalar());
    }

    /**
     * Runs the loss on the kernel's inputs into {@code loss}; with {@code softmax} the input is scores and
     * {@code logProb} (null when not wanted) receives their log-softmax, else the input is log-probabilities.
     *
     * @throws InvalidInputException when a target is no class index and not ignore_index
     */
    static void run(Spec s, boolean softmax, Tensor[] in, Tensor loss, Tensor logProb) {
        double[] x = Elements.toDoubles(in[0]);
        long[] target = Elements.toLongs(in[1]);
        double[] weight = s.hasWeight() && in.length > 2 && in[2] != null ? Elements.toDoubles(in[2]) : null;
        double[] lp = logProb == null ? null : new double[x.length];
        double[] y;
        try {
            y = softmax ? ReferenceLoss.softmaxCrossEntropy(x, s.n(), s.c(), s.d(), target, weight, s.hasIgnore(),
                    s.ignoreIndex(), s.reduction(), lp)
                    : ReferenceLoss.negativeLogLikelihood(x, s.n(), s.c(), s.d(), target, weight, s.hasIgnore(),
                    s.ignoreIndex(), s.reduction());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(s.node() + ": " + s.op() + " " + e.getMessage());
        }
        Elements.setDoubles(loss, y);
        if (logProb != null) {
            Elements.setDoubles(logProb, lp);
        }
    }
}
