package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Copies between contiguous tensors of any floating type and {@code double[]}: the float64 paths of the training
 * ops compute on plain arrays (obviously correct, slow), which is also the reference the float32 paths are tested
 * against.
 */
final class Doubles {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private Doubles() {
    }

    static double[] read(Tensor t) {
        return Elements.toDoubles(t);
    }

    static void write(double[] v, Tensor t) {
        Elements.setDoubles(t, v);
    }

    /** Elements {@code [from, from + count)} of a contiguous float32 or float64 tensor. */
    static double[] read(Tensor t, long from, int count) {
        double[] v = new double[count];
        MemorySegment s = t.segment();
        long o = t.offset() + from;
        if (t.dtype() == DType.FLOAT64) {
            MemorySegment.copy(s, D, o * 8, v, 0, count);
        } else {
            for (int i = 0; i < count; i++) {
                v[i] = s.getAtIndex(F, o + i);
            }
        }
        return v;
    }

    /** Stores {@code v} into elements {@code [from, from + v.length)} of a float32 or float64 tensor. */
    static void write(double[] v, Tensor t, long from) {
        MemorySegment s = t.segment();
        long o = t.offset() + from;
        if (t.dtype() == DType.FLOAT64) {
            MemorySegment.copy(v, 0, s, D, o * 8, v.length);
        } else {
            for (int i = 0; i < v.length; i++) {
                s.setAtIndex(F, o + i, (float) v[i]);
            }
        }
    }

    static long[] readLongs(Tensor t) {
        return Elements.toLongs(t);
    }
}
