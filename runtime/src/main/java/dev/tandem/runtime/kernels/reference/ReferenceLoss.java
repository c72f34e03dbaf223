package dev.tandem.runtime.kernels.reference;

/**
 * The slow, obvious ONNX loss functions in double, straight from the operator specification: the negative
 * log-likelihood of a class-index target, over a row-major {@code [n, c, d]} input (the class axis in the middle,
 * {@code d} the product of any trailing dimensions, 1 for {@code [n, c]}), and the softmax cross-entropy built on
 * it. Also the kernels of the ONNX loss ops (float32 and float64): they are not on a hot path.
 */
public final class ReferenceLoss {
    /** How the per-element losses are combined. */
    public enum Reduction { NONE, SUM, MEAN }

    private ReferenceLoss() {
    }

    /**
     * {@code loss[i, j] = -weight[t] · x[i, t, j]} with {@code t = target[i, j]}; an element whose target equals
     * {@code ignoreIndex} (when {@code hasIgnore}) has loss and weight 0.
     *
     * @param target    {@code n·d} class indices, each in {@code [0, c)} unless ignored
     * @param weight    one weight per class, or null for all 1
     * @param reduction NONE gives the {@code n·d} losses; SUM and MEAN one value, MEAN dividing the sum by the
     *                  summed weights of the elements not ignored (NaN when that is 0, as in the spec's reference)
     * @throws IllegalArgumentException naming the element when a target that is not ignored lies outside
     *                                  {@code [0, c)}
     */
    public static double[] negativeLogLikelihood(double[] x, int n, int c, int d, long[] target, double[] weight,
                                                 boolean hasIgnore, long ignoreIndex, Reduction reduction) {
        double[] loss = new double[n * d];
        double sum = 0, weights = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                long t = target[i * d + j];
                if (hasIgnore && t == ignoreIndex) {
                    continue;
                }
                if (t < 0 || t >= c) {
                    throw new IllegalArgumentException("target " + t + " at element " + (i * d + j)
                            + " is not a class index in [0, " + c + ")"
                            + (hasIgnore ? " nor ignore_index " + ignoreIndex : ""));
                }
                double wt = weight == null ? 1 : weight[(int) t];
                loss[i * d + j] = -x[(i * c + (int) t) * d + j] * wt;
                sum += loss[i * d + j];
                weights += wt;
            }
        }
        return switch (reduction) {
            case NONE -> loss;
            case SUM -> new double[] {sum};
            case MEAN -> new double[] {sum / weights};
        };
    }

    /**
     * The softmax cross-entropy: {@code logProb = logSoftmax(x)} over the class axis, written into
     * {@code logProbOut} ({@code n·c·d} values) when it is not null, then {@link #negativeLogLikelihood} of it.
     */
    public static double[] softmaxCrossEntropy(double[] x, int n, int c, int d, long[] target, double[] weight,
                                               boolean hasIgnore, long ignoreIndex, Reduction reduction,
                                               double[] logProbOut) {
        double[] logProb = ReferenceSoftmax.softmax(x, n, c, d, true);
        if (logProbOut != null) {
            System.arraycopy(logProb, 0, logProbOut, 0, logProb.length);
        }
        return negativeLogLikelihood(logProb, n, c, d, target, weight, hasIgnore, ignoreIndex, reduction);
    }
}
