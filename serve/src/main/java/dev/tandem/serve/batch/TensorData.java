package dev.tandem.serve.batch;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A named tensor held in Java arrays, as it travels in a request or a response: float32 in a {@code float[]},
 * float64 in a {@code double[]}, every integer type and bool in a {@code long[]} (bool as 0/1). Kept on the heap so
 * that HTTP threads never own off-heap memory; the batch worker turns it into a {@link Tensor} and back.
 *
 * @param name  the model input or output name
 * @param dtype the element type
 * @param shape the dimensions
 * @param data  {@code float[]}, {@code double[]} or {@code long[]} as above, row-major, {@code shape.size()} long
 */
public record TensorData(String name, DType dtype, Shape shape, Object data) {
    public TensorData {
        long n = switch (data) {
            case float[] f when dtype == DType.FLOAT32 -> f.length;
            case double[] d when dtype == DType.FLOAT64 -> d.length;
            case long[] l when dtype != DType.FLOAT32 && dtype != DType.FLOAT64 -> l.length;
            default -> throw new IllegalArgumentException("Tensor '" + name + "': " + dtype + " cannot be held in "
                    + data.getClass().getSimpleName());
        };
        if (n != shape.size()) {
            throw new IllegalArgumentException("Tensor '" + name + "' has " + n + " values; shape " + shape
                    + " holds " + shape.size());
        }
    }

    /** Number of elements. */
    public long size() {
        return shape.size();
    }

    /** A new owned tensor holding these values. */
    public Tensor toTensor() {
        Tensor t = Tensor.allocate(dtype, shape);
        copyInto(t, 0);
        return t;
    }

    /** Copies these values into the contiguous tensor {@code t} (same type) from element {@code offset} on. */
    public void copyInto(Tensor t, long offset) {
        MemorySegment s = t.segment();
        long base = t.offset() + offset;
        switch (data) {
            case float[] f -> MemorySegment.copy(f, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, base * 4, f.length);
            case double[] d -> MemorySegment.copy(d, 0, s, ValueLayout.JAVA_DOUBLE_UNALIGNED, base * 8, d.length);
            case long[] l when dtype == DType.INT64 ->
                    MemorySegment.copy(l, 0, s, ValueLayout.JAVA_LONG_UNALIGNED, base * 8, l.length);
            case long[] l -> {
                for (int i = 0; i < l.length; i++) {
                    Elements.setLong(t, offset + i, l[i]);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    /**
     * Rows {@code [row0, row0 + rows)} along dimension 0 of a contiguous tensor, copied out. A tensor of rank 0 is
     * taken whole.
     */
    public static TensorData fromTensor(String name, Tensor t, int row0, int rows) {
        Tensor c = t.contiguous();
        try {
            int[] dims = c.shape().dims();
            long rowSize = 1;
            for (int i = 1; i < dims.length; i++) {
                rowSize *= dims[i];
            }
            long start = 0;
            if (dims.length > 0) {
                start = row0 * rowSize;
                dims[0] = rows;
            }
            Shape shape = Shape.of(dims);
            int n = Math.toIntExact(shape.size());
            MemorySegment s = c.segment();
            long base = c.offset() + start;
            Object data = switch (c.dtype()) {
                case FLOAT32 -> {
                    float[] f = new float[n];
                    MemorySegment.copy(s, ValueLayout.JAVA_FLOAT_UNALIGNED, base * 4, f, 0, n);
                    yield f;
                }
                case FLOAT64 -> {
                    double[] d = new double[n];
                    MemorySegment.copy(s, ValueLayout.JAVA_DOUBLE_UNALIGNED, base * 8, d, 0, n);
                    yield d;
                }
                default -> {
                    long[] l = new long[n];
                    for (int i = 0; i < n; i++) {
                        l[i] = Elements.getLong(c, start + i);
                    }
                    yield l;
                }
            };
            return new TensorData(name, c.dtype(), shape, data);
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }

    @Override
    public String toString() {
        return name + ": " + dtype.name().toLowerCase(java.util.Locale.ROOT) + Arrays.toString(shape.dims());
    }
}
