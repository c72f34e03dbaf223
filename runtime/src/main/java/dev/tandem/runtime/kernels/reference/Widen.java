package dev.tandem.runtime.kernels.reference;

/** Float arrays widened (exactly) to double, so the float-in references run their double-in forms. */
final class Widen {
    private Widen() {
    }

    /** {@code v} as doubles; null stays null. */
    static double[] of(float[] v) {
        if (v == null) {
            return null;
        }
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
