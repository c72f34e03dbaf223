package dev.tandem.cuda.check;

import java.util.Locale;

/**
 * What one check found: its worst error as a fraction of what it allows (at most 1 passes), and a line for the
 * report. A check that does not compare numbers (it only had to run) has error 0.
 *
 * @param error the worst element's |actual - expected| / (atol + rtol·|expected|); 0 for exact
 * @param detail what was compared and the worst absolute difference
 */
public record Outcome(double error, String detail) {
    /** Whether it passed: every element within its tolerance (NaN never passes). */
    public boolean passed() {
        return error <= 1.0;
    }

    /** A passing check with a note. */
    public static Outcome ok(String detail) {
        return new Outcome(0, detail);
    }

    /**
     * Compares {@code actual} with {@code expected}: element i passes when |a - e| ≤ atol + rtol·|e|.
     */
    public static Outcome compare(String what, float[] actual, double[] expected, double atol, double rtol) {
        if (actual.length != expected.length) {
            return new Outcome(Double.POSITIVE_INFINITY, what + ": " + actual.length + " values, expected "
                    + expected.length);
        }
        double worst = 0;
        double worstAbs = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            double e = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d == 0 ? 0 : d / (atol + rtol * Math.abs(expected[i]));
            if (e > worst || at < 0) {
                worst = e;
                worstAbs = d;
                at = i;
            }
        }
        String where = at < 0 ? "" : String.format(Locale.ROOT, " at [%d]: %s vs %s", at, actual[at], expected[at]);
        String limit = atol == 0 && rtol == 0 ? "exact" : String.format(Locale.ROOT, "limit %.0e + %.0e·|x|", atol,
                rtol);
        return new Outcome(worst, String.format(Locale.ROOT, "%s: %d values, worst |diff| %.3g%s (%s)", what,
                actual.length, worstAbs, worst > 1 ? where : "", limit));
    }

    /**
     * Compares with a tolerance per element: element i passes when |a - e| ≤ rel·scale[i] + 1e-30, where scale[i]
     * is the sum of the magnitudes of the terms that made it (a GEMM's or a convolution's rounding grows with
     * that, not with the result, which cancellation can make small).
     */
    public static Outcome compareScaled(String what, float[] actual, double[] expected, double[] scale, double rel) {
        double worst = 0;
        double worstAbs = 0;
        int at = -1;
        for (int i = 0; i < Math.min(actual.length, expected.length); i++) {
            double d = Math.abs(actual[i] - expected[i]);
            double e = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d == 0 ? 0 : d / (rel * scale[i] + 1e-30);
            if (e > worst || at < 0) {
                worst = e;
                worstAbs = d;
                at = i;
            }
        }
        if (actual.length != expected.length) {
            worst = Double.POSITIVE_INFINITY;
        }
        String where = worst > 1 && at >= 0 ? String.format(Locale.ROOT, " at [%d]: %s vs %s", at, actual[at],
                expected[at]) : "";
        return new Outcome(worst, String.format(Locale.ROOT, "%s: %d values, worst |diff| %.3g%s (limit %.0e·Σ|terms|)",
                what, actual.length, worstAbs, where, rel));
    }

    /** Exact comparison of integers (indices, bit patterns). */
    public static Outcome exact(String what, long[] actual, long[] expected) {
        for (int i = 0; i < Math.max(actual.length, expected.length); i++) {
            if (i >= actual.length || i >= expected.length || actual[i] != expected[i]) {
                return new Outcome(Double.POSITIVE_INFINITY, what + ": differs at [" + i + "]: "
                        + (i < actual.length ? actual[i] : "none") + " vs " + (i < expected.length ? expected[i]
                        : "none"));
            }
        }
        return new Outcome(0, what + ": " + actual.length + " values, all equal");
    }

    /** The worse of two outcomes, with both details. */
    public Outcome and(Outcome other) {
        return new Outcome(Math.max(error, other.error), detail + "; " + other.detail);
    }
}
