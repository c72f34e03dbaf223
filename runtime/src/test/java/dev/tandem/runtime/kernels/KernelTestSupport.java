package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.fail;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;

/** Random data and tolerant comparison against the double references, shared by the kernel tests. */
final class KernelTestSupport {
    /** Sizes every kernel is tried on: 1, odd, prime, a power of two and larger. */
    static final int[] SIZES = {1, 3, 7, 13, 31, 64, 97};

    private KernelTestSupport() {
    }

    static float[] uniform(Random rnd, int n, float lo, float hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * rnd.nextFloat();
        }
        return v;
    }

    /** A new contiguous float32 tensor of uniform values in {@code [lo, hi)}. */
    static Tensor uniform(Random rnd, Shape s, float lo, float hi) {
        return Tensor.ofFloats(s, uniform(rnd, Math.toIntExact(s.size()), lo, hi));
    }

    /** Uniform values in [-1, 1). */
    static float[] random(Random rnd, int n) {
        return uniform(rnd, n, -1f, 1f);
    }

    /** Elementwise absolute values: fed to a reference, they give the Σ|a·b| that bounds rounding error. */
    static float[] abs(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Math.abs(x[i]);
        }
        return y;
    }

    static Tensor zeros(Shape s) {
        return Tensor.allocate(DType.FLOAT32, s);
    }

    static int pick(Random rnd, int... values) {
        return values[rnd.nextInt(values.length)];
    }

    /**
     * Every {@code actual[i]} is within {@code abs + rel·|expected[i]|} of {@code expected[i]}; NaN must match NaN
     * and infinities must match exactly.
     */
    static void assertClose(String what, float[] actual, double[] expected, double abs, double rel) {
        if (actual.length != expected.length) {
            fail(what + ": " + actual.length + " values, expected " + expected.length);
        }
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i], e = expected[i];
            boolean ok;
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                ok = Double.isNaN(e) ? Double.isNaN(a) : a == e;
            } else if (Math.abs(e) > Float.MAX_VALUE) {
                ok = Double.isInfinite(a) && Math.signum(a) == Math.signum(e);
            } else {
                ok = Math.abs(a - e) <= abs + rel * Math.abs(e);
            }
            if (!ok) {
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (tolerance " + abs + " + " + rel
                        + "·|e|, error " + Math.abs(a - e) + ")");
            }
        }
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
