package dev.tandem.train.io;

import java.util.Arrays;

/**
 * One named array of a {@link Checkpoint}: a shape and its elements in row-major order, on the Java heap. The
 * arrays are not copied: the caller must not change them while a write is in progress.
 */
public sealed interface TensorData permits TensorData.F32, TensorData.I64 {
    /** The dimensions, each at least 0; the empty shape is a scalar of one element. */
    long[] shape();

    /** The number of elements, the product of {@link #shape()}. */
    int size();

    /** float32 elements. */
    record F32(long[] shape, float[] data) implements TensorData {
        public F32 {
            checkSize(shape, data.length);
        }

        /** A 1-D tensor of {@code data.length} elements. */
        public F32(float[] data) {
            this(new long[] {data.length}, data);
        }

        @Override
        public int size() {
            return data.length;
        }
    }

    /** int64 elements. */
    record I64(long[] shape, long[] data) implements TensorData {
        public I64 {
            checkSize(shape, data.length);
        }

        /** A 1-D tensor of {@code data.length} elements. */
        public I64(long[] data) {
            this(new long[] {data.length}, data);
        }

        @Override
        public int size() {
            return data.length;
        }
    }

    /** The element count of {@code shape}, or -1 if a dimension is negative or the count exceeds an array's. */
    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                return -1;
            }
            n = d == 0 ? 0 : (n > (Integer.MAX_VALUE - 8) / d ? -1 : n * d);
            if (n < 0) {
                return -1;
            }
        }
        return n;
    }

    private static void checkSize(long[] shape, int length) {
        if (elements(shape) != length) {
            throw new IllegalArgumentException("Shape " + Arrays.toString(shape) + " does not hold " + length
                    + " elements");
        }
    }
}
