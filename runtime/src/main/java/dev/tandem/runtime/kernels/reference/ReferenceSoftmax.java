package dev.tandem.runtime.kernels.reference;

/**
 * The slow, obvious softmax and log-softmax in double over a row-major {@code [outer, n, inner]} layout, reducing
 * the middle axis. The maximum is subtracted first (so an all {@code -inf} slice gives NaN, as in PyTorch). The
 * double-in form is also the float64 Softmax/LogSoftmax kernel of the ops.
 */
public final class ReferenceSoftmax {
    private ReferenceSoftmax() {
    }

    public static double[] softmax(float[] x, int outer, int n, int inner, boolean log) {
        return softmax(Widen.of(x), outer, n, inner, log);
    }

    public static double[] softmax(double[] x, int outer, int n, int inner, boolean log) {
        double[] out = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    max = Math.max(max, x[(o * n + k) * inner + j]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    sum += Math.exp(x[(o * n + k) * inner + j] - max);
                }
                for (int k = 0; k < n; k++) {
                    int idx = (o * n + k) * inner + j;
                    out[idx] = log ? x[idx] - max - Math.log(sum) : Math.exp(x[idx] - max) / sum;
                }
            }
        }
        return out;
    }
}
