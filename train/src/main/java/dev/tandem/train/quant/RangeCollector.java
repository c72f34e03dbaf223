package dev.tandem.train.quant;

/**
 * The range of one activation tensor over the calibration set, as each method wants it: {@code minmax} keeps the
 * extremes; {@code percentile} and {@code entropy} also need a histogram of |x| over {@code [0, max|x|]}, filled in a
 * second pass once the extremes are known ({@link #startHistogram()}).
 *
 * Percentile and entropy clip the positive and the negative side each on its own (their histograms of |x|).
 * <ul>
 *   <li>minmax: {@code [min, max]};</li>
 *   <li>percentile: |x| clipped at the given percentile of its histogram;</li>
 *   <li>entropy: |x| clipped at the threshold whose 128-level quantization of the histogram has the least
 *       Kullback–Leibler divergence from it (the TensorRT calibration).</li>
 * </ul>
 * The range always includes 0, so that 0 is exactly representable (padding, ReLU).
 */
final class RangeCollector {
    static final int BINS = 2048;
    private static final int LEVELS = 128;

    private float min = 0, max = 0;
    private long[] pos, neg;
    private double posWidth, negWidth;

    void observeRange(float[] v) {
        for (float x : v) {
            if (x < min) {
                min = x;
            }
            if (x > max) {
                max = x;
            }
        }
    }

    void startHistogram() {
        pos = new long[BINS];
        neg = new long[BINS];
        posWidth = max > 0 ? max / BINS : 1;
        negWidth = min < 0 ? -min / BINS : 1;
    }

    void observeHistogram(float[] v) {
        for (float x : v) {
            if (x > 0) {
                pos[Math.min(BINS - 1, (int) (x / posWidth))]++;
            } else if (x < 0) {
                neg[Math.min(BINS - 1, (int) (-x / negWidth))]++;
            }
        }
    }

    float min() {
        return min;
    }

    float max() {
        return max;
    }

    /** {@code [lo, hi]} for the method (percentile in (0, 100]). */
    float[] range(Quantizer.Method method, double percentile) {
        if (method == Quantizer.Method.MINMAX || pos == null || max - min == 0) {
            return new float[] {min, max};
        }
        boolean pc = method == Quantizer.Method.PERCENTILE;
        double hi = max > 0 ? (pc ? percentile(pos, posWidth, percentile) : entropy(pos, posWidth)) : 0;
        double lo = min < 0 ? (pc ? percentile(neg, negWidth, percentile) : entropy(neg, negWidth)) : 0;
        return new float[] {(float) Math.max(min, -lo), (float) Math.min(max, hi)};
    }

    /** Each side (x > 0, x < 0) is clipped on its own: a one-sided tail is not cut on the other side. */
    private static double percentile(long[] hist, double binWidth, double p) {
        long total = 0;
        for (long h : hist) {
            total += h;
        }
        long want = (long) Math.ceil(total * p / 100.0);
        long seen = 0;
        for (int i = 0; i < BINS; i++) {
            seen += hist[i];
            if (seen >= want) {
                return (i + 1) * binWidth;
            }
        }
        return BINS * binWidth;
    }

    private static double entropy(long[] hist, double binWidth) {
        double best = Double.POSITIVE_INFINITY;
        int bestI = BINS;
        double[] p = new double[BINS];
        double[] q = new double[BINS];
        for (int i = LEVELS; i <= BINS; i++) {
            // reference: the first i bins, the outliers folded into the last one
            long outliers = 0;
            for (int j = i; j < BINS; j++) {
                outliers += hist[j];
            }
            for (int j = 0; j < i; j++) {
                p[j] = hist[j];
            }
            p[i - 1] += outliers;
            // candidate: the first i bins merged into LEVELS levels, each spread evenly over its non-empty bins
            double per = (double) i / LEVELS;
            for (int l = 0; l < LEVELS; l++) {
                int a = (int) Math.floor(l * per), b = l == LEVELS - 1 ? i : (int) Math.floor((l + 1) * per);
                double sum = 0;
                int nonZero = 0;
                for (int j = a; j < b; j++) {
                    sum += hist[j];
                    nonZero += hist[j] != 0 ? 1 : 0;
                }
                for (int j = a; j < b; j++) {
                    q[j] = hist[j] == 0 || nonZero == 0 ? 0 : sum / nonZero;
                }
            }
            double kl = kl(p, q, i);
            if (kl < best) {
                best = kl;
                bestI = i;
            }
        }
        return (bestI + 0.5) * binWidth;
    }

    private static double kl(double[] p, double[] q, int n) {
        double sp = 0, sq = 0;
        for (int j = 0; j < n; j++) {
            sp += p[j];
            sq += q[j];
        }
        if (sp == 0 || sq == 0) {
            return Double.POSITIVE_INFINITY;
        }
        double d = 0;
        for (int j = 0; j < n; j++) {
            if (p[j] > 0) {
                double pj = p[j] / sp, qj = q[j] / sq;
                d += pj * Math.log(pj / (qj > 0 ? qj : 1e-12));
            }
        }
        return d;
    }
}
