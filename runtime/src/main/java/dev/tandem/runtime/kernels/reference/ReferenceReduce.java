package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.tensor.Shape;

/**
 * The slow, obvious reductions in double over row-major data: for every input element, find its output element
 * and fold it in. Reduced axes are given as flags; the output is in kept-axis order (the same with or without
 * keepdims). MAX and MIN propagate NaN; an empty reduction gives 0 (SUM), NaN (MEAN), -inf (MAX), +inf (MIN).
 */
public final class ReferenceReduce {
    /** Which reduction. */
    public enum Kind { SUM, MEAN, MAX, MIN }

    private ReferenceReduce() {
    }

    public static double[] reduce(Kind kind, float[] x, Shape shape, boolean[] reduced) {
        int r = shape.rank();
        long outSize = 1, count = 1;
        for (int i = 0; i < r; i++) {
            if (reduced[i]) {
                count *= shape.dim(i);
            } else {
                outSize *= shape.dim(i);
            }
        }
        double[] out = new double[(int) outSize];
        double init = switch (kind) {
            case SUM, MEAN -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
        java.util.Arrays.fill(out, init);
        int[] idx = new int[r];
        for (int e = 0; e < x.length; e++) {
            int o = 0;
            for (int i = 0; i < r; i++) {
                if (!reduced[i]) {
                    o = o * shape.dim(i) + idx[i];
                }
            }
            out[o] = switch (kind) {
                case SUM, MEAN -> out[o] + x[e];
                case MAX -> Math.max(out[o], x[e]);
                case MIN -> Math.min(out[o], x[e]);
            };
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < shape.dim(i)) {
                    break;
                }
                idx[i] = 0;
            }
        }
        if (kind == Kind.MEAN) {
            for (int o = 0; o < out.length; o++) {
                out[o] /= count;
            }
        }
        return out;
    }

    /**
     * Index of the max (or min) along the middle axis of {@code [outer, n, inner]}: first occurrence, or last with
     * {@code last}; NaN counts as the extreme.
     */
    public static long[] arg(boolean max, boolean last, float[] x, int outer, int n, int inner) {
        long[] out = new long[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int best = -1;
                double bv = 0;
                for (int k = 0; k < n; k++) {
                    double v = x[(o * n + k) * inner + j];
                    boolean take;
                    if (best < 0) {
                        take = true;
                    } else if (Double.isNaN(bv)) {
                        take = last && Double.isNaN(v);
                    } else if (Double.isNaN(v)) {
                        take = true;
                    } else {
                        take = max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                    }
                    if (take) {
                        best = k;
                        bv = v;
                    }
                }
                out[o * inner + j] = best;
            }
        }
        return out;
    }
}
