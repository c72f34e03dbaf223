package dev.tandem.runtime.ops;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element access by flat row-major index on contiguous tensors of any {@link DType}, for the dtype-generic (and
 * not speed-critical) op kernels: shape arithmetic on int64, int and bool ops, casts. Float32 hot paths use the
 * vectorised kernels instead.
 */
public final class Elements {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    private Elements() {
    }

    /** Element {@code i} (flat, contiguous tensor) as a double; uint8 unsigned, bool 0/1. */
    public static double getDouble(Tensor t, long i) {
        MemorySegment s = t.segment();
        long o = t.offset() + i;
        return switch (t.dtype()) {
            case FLOAT32 -> s.getAtIndex(F, o);
            case FLOAT64 -> s.getAtIndex(D, o);
            case INT64 -> s.getAtIndex(L, o);
            case INT32 -> s.getAtIndex(I, o);
            case INT8 -> s.get(B, o);
            case UINT8 -> s.get(B, o) & 0xFF;
            case BOOL -> s.get(B, o) != 0 ? 1 : 0;
        };
    }

    /** Element {@code i} as a long (floats truncated toward zero, as a C cast). */
    public static long getLong(Tensor t, long i) {
        MemorySegment s = t.segment();
        long o = t.offset() + i;
        return switch (t.dtype()) {
            case FLOAT32 -> (long) s.getAtIndex(F, o);
            case FLOAT64 -> (long) s.getAtIndex(D, o);
            case INT64 -> s.getAtIndex(L, o);
            case INT32 -> s.getAtIndex(I, o);
            case INT8 -> s.get(B, o);
            case UINT8 -> s.get(B, o) & 0xFF;
            case BOOL -> s.get(B, o) != 0 ? 1 : 0;
        };
    }

    /** Stores {@code v} into element {@code i}, converting to the tensor's type (bool: non-zero is true). */
    public static void setDouble(Tensor t, long i, double v) {
        MemorySegment s = t.segment();
        long o = t.offset() + i;
        switch (t.dtype()) {
            case FLOAT32 -> s.setAtIndex(F, o, (float) v);
            case FLOAT64 -> s.setAtIndex(D, o, v);
            case INT64 -> s.setAtIndex(L, o, (long) v);
            case INT32 -> s.setAtIndex(I, o, (int) (long) v);
            case INT8, UINT8 -> s.set(B, o, (byte) (long) v);
            case BOOL -> s.set(B, o, (byte) (v != 0 ? 1 : 0));
        }
    }

    /** Stores {@code v} into element {@code i}, converting to the tensor's type (exact for int64). */
    public static void setLong(Tensor t, long i, long v) {
        MemorySegment s = t.segment();
        long o = t.offset() + i;
        switch (t.dtype()) {
            case FLOAT32 -> s.setAtIndex(F, o, (float) v);
            case FLOAT64 -> s.setAtIndex(D, o, (double) v);
            case INT64 -> s.setAtIndex(L, o, v);
            case INT32 -> s.setAtIndex(I, o, (int) v);
            case INT8, UINT8 -> s.set(B, o, (byte) v);
            case BOOL -> s.set(B, o, (byte) (v != 0 ? 1 : 0));
        }
    }

    /** All elements (logical order, any strides) as longs. */
    public static long[] toLongs(Tensor t) {
        Tensor c = t.contiguous();
        try {
            long[] out = new long[Math.toIntExact(c.size())];
            for (int i = 0; i < out.length; i++) {
                out[i] = getLong(c, i);
            }
            return out;
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }

    /** All elements (logical order, any strides) as floats. */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.contiguous();
        try {
            float[] out = new float[Math.toIntExact(c.size())];
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) getDouble(c, i);
            }
            return out;
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }

    /**
     * All elements (logical order, any strides, any type) as doubles: the input side of the scalar float64 paths,
     * which run the double-precision references of {@code kernels.reference}.
     */
    public static double[] toDoubles(Tensor t) {
        Tensor c = t.contiguous();
        try {
            double[] out = new double[Math.toIntExact(c.size())];
            if (c.dtype() == DType.FLOAT64) {
                MemorySegment.copy(c.segment(), D, c.offset() * 8, out, 0, out.length);
                return out;
            }
            for (int i = 0; i < out.length; i++) {
                out[i] = getDouble(c, i);
            }
            return out;
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }

    /** Stores {@code values} into the contiguous tensor {@code t} (same element count), converting to its type. */
    public static void setDoubles(Tensor t, double[] values) {
        if (values.length != t.size()) {
            throw new IllegalArgumentException(values.length + " values for a tensor of " + t.size() + " elements");
        }
        if (t.dtype() == DType.FLOAT64) {
            MemorySegment.copy(values, 0, t.segment(), D, t.offset() * 8, values.length);
            return;
        }
        for (int i = 0; i < values.length; i++) {
            setDouble(t, i, values[i]);
        }
    }

    /** Copies {@code count} elements of the same type between contiguous tensors, at element offsets. */
    public static void copy(Tensor src, long srcIndex, Tensor dst, long dstIndex, long count) {
        int bs = src.dtype().byteSize();
        MemorySegment.copy(src.segment(), (src.offset() + srcIndex) * bs, dst.segment(),
                (dst.offset() + dstIndex) * bs, count * bs);
    }
}
