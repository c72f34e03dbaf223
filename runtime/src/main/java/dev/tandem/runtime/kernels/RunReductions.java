package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions of one contiguous float32 run of a {@link MemorySegment}, vectorised: the building block of global
 * pooling, {@link Reduce} and {@link Softmax}. Offsets and lengths are in elements.
 */
final class RunReductions {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private RunReductions() {
    }

    /**
     * The sum of {@code n} floats from element {@code off}, with Kahan compensation per lane so that long runs keep
     * float32 accuracy (plain float accumulation loses about log2(n) bits).
     */
    static double sum(MemorySegment seg, long off, int n) {
        int up = S.loopBound(n);
        FloatVector acc = FloatVector.zero(S);
        FloatVector comp = FloatVector.zero(S);
        for (int i = 0; i < up; i += F) {
            FloatVector y = FloatVector.fromMemorySegment(S, seg, (off + i) * 4, LE).sub(comp);
            FloatVector t = acc.add(y);
            comp = t.sub(acc).sub(y);
            acc = t;
        }
        // The lanes in a fixed order, in double: reduceLanes(ADD) leaves its order to the implementation, and C2's
        // tree and the interpreter's loop round differently, so a sum computed before and after the JIT compiled
        // this method differed in the last bit (ReduceTest's one-thread against pool comparison failed once in a
        // full build).
        double s = 0;
        for (int j = 0; j < F; j++) {
            s += (double) acc.lane(j) - (double) comp.lane(j);
        }
        for (int i = up; i < n; i++) {
            s += seg.getAtIndex(FL, off + i);
        }
        // An infinite element turns the compensation into inf - inf = NaN; the plain sum is then the right answer.
        return Double.isNaN(s) ? plainSum(seg, off, n) : s;
    }

    private static double plainSum(MemorySegment seg, long off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += seg.getAtIndex(FL, off + i);
        }
        return s;
    }

    /** The largest of {@code n} floats ({@code -inf} when {@code n == 0}); NaN propagates, as {@link Math#max}. */
    static float max(MemorySegment seg, long off, int n) {
        int up = S.loopBound(n);
        float m = Float.NEGATIVE_INFINITY;
        if (up > 0) {
            FloatVector acc = FloatVector.fromMemorySegment(S, seg, off * 4, LE);
            for (int i = F; i < up; i += F) {
                acc = acc.max(FloatVector.fromMemorySegment(S, seg, (off + i) * 4, LE));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (int i = up; i < n; i++) {
            m = Math.max(m, seg.getAtIndex(FL, off + i));
        }
        return m;
    }

    /** The smallest of {@code n} floats ({@code +inf} when {@code n == 0}); NaN propagates, as {@link Math#min}. */
    static float min(MemorySegment seg, long off, int n) {
        int up = S.loopBound(n);
        float m = Float.POSITIVE_INFINITY;
        if (up > 0) {
            FloatVector acc = FloatVector.fromMemorySegment(S, seg, off * 4, LE);
            for (int i = F; i < up; i += F) {
                acc = acc.min(FloatVector.fromMemorySegment(S, seg, (off + i) * 4, LE));
            }
            m = acc.reduceLanes(VectorOperators.MIN);
        }
        for (int i = up; i < n; i++) {
            m = Math.min(m, seg.getAtIndex(FL, off + i));
        }
        return m;
    }
}
