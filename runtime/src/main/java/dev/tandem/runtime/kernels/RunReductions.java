package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
        // Four independent compensated sums: one such sum is a chain of four dependent additions per vector (12
        // cycles on Zen 4), which made a global average pool over 3136 values latency-bound (EfficientNet-B0's
        // 144-channel 56×56 pool took 95 µs).
        int up4 = n - n % (4 * F), up = S.loopBound(n);
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        FloatVector comp0 = acc0, comp1 = acc0, comp2 = acc0, comp3 = acc0;
        for (int i = 0; i < up4; i += 4 * F) {
            long at = (off + i) * 4;
            FloatVector y0 = FloatVector.fromMemorySegment(S, seg, at, LE).sub(comp0);
            FloatVector y1 = FloatVector.fromMemorySegment(S, seg, at + 4L * F, LE).sub(comp1);
            FloatVector y2 = FloatVector.fromMemorySegment(S, seg, at + 8L * F, LE).sub(comp2);
            FloatVector y3 = FloatVector.fromMemorySegment(S, seg, at + 12L * F, LE).sub(comp3);
            FloatVector t0 = acc0.add(y0), t1 = acc1.add(y1), t2 = acc2.add(y2), t3 = acc3.add(y3);
            comp0 = t0.sub(acc0).sub(y0);
            comp1 = t1.sub(acc1).sub(y1);
            comp2 = t2.sub(acc2).sub(y2);
            comp3 = t3.sub(acc3).sub(y3);
            acc0 = t0;
            acc1 = t1;
            acc2 = t2;
            acc3 = t3;
        }
        for (int i = up4; i < up; i += F) {
            FloatVector y = FloatVector.fromMemorySegment(S, seg, (off + i) * 4, LE).sub(comp0);
            FloatVector t = acc0.add(y);
            comp0 = t.sub(acc0).sub(y);
            acc0 = t;
        }
        // The lanes in a fixed order (laneSum), not reduceLanes(ADD), which leaves its order to the implementation:
        // C2's tree and the interpreter's loop round differently, so a sum computed before and after the JIT compiled
        // this method differed in the last bit (ReduceTest's one-thread against pool comparison failed once in a
        // full build).
        double s = laneSum(acc0.sub(comp0).add(acc1.sub(comp1)).add(acc2.sub(comp2).add(acc3.sub(comp3))));
        for (int i = up; i < n; i++) {
            s += seg.getAtIndex(FL, off + i);
        }
        // An infinite element turns the compensation into inf - inf = NaN; the plain sum is then the right answer.
        return Double.isNaN(s) ? plainSum(seg, off, n) : s;
    }

    private static final VectorShuffle<Float> ROTATE_1 = VectorShuffle.iota(S, 1, 1, true);
    private static final VectorShuffle<Float> ROTATE_2 = VectorShuffle.iota(S, 2, 1, true);
    private static final VectorShuffle<Float> ROTATE_4 = VectorShuffle.iota(S, 4, 1, true);
    private static final VectorShuffle<Float> ROTATE_8 = VectorShuffle.iota(S, 8, 1, true);

    /**
     * The sum of a vector's lanes in one fixed order on every tier of the JIT (rotations by half the lanes, a quarter,
     * ..., each added: exact data moves and IEEE additions). Not a loop over {@code lane(j)}: C2 kept such a loop's
     * index variable and extracted each lane through the slow path (EfficientNet-B0's global average pools 3× slower).
     */
    static float laneSum(FloatVector v) {
        if (F >= 16) {
            v = v.add(v.rearrange(ROTATE_8));
        }
        if (F >= 8) {
            v = v.add(v.rearrange(ROTATE_4));
        }
        if (F >= 4) {
            v = v.add(v.rearrange(ROTATE_2));
        }
        if (F >= 2) {
            v = v.add(v.rearrange(ROTATE_1));
        }
        return v.lane(0);
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
