package dev.tandem.train.nn;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A tensor of module state: a trainable parameter (a weight or bias the optimizer updates) or a buffer
 * ({@link #trainable()} false: running statistics that training ops update in place). Its float32 data lives in
 * an off-heap {@link Tensor} the owning {@link Module} allocates and frees ({@link Module#close()}); the trainer
 * binds that tensor to the graph input of the same name at every run, so updates land here without copies.
 *
 * <p>Not synchronised: do not read it while a training step that updates it runs.
 */
public final class Parameter implements AutoCloseable {
    private final Shape shape;
    private final boolean trainable;
    private final Tensor data;

    Parameter(Shape shape, boolean trainable) {
        this.shape = shape;
        this.trainable = trainable;
        this.data = Tensor.allocate(DType.FLOAT32, shape);
    }

    public Shape shape() {
        return shape;
    }

    /** Number of elements. */
    public long size() {
        return shape.size();
    }

    /** True for a parameter, false for a buffer. */
    public boolean trainable() {
        return trainable;
    }

    /**
     * The data (float32, contiguous, the module's own memory: writes change the module).
     *
     * @throws IllegalStateException after the module was closed
     */
    public Tensor tensor() {
        ensureOpen();
        return data;
    }

    /** A copy of the data in row-major order. */
    public float[] toArray() {
        ensureOpen();
        return data.toFloatArray();
    }

    /**
     * Sets the data from {@code values} (row-major order).
     *
     * @throws IllegalArgumentException when the element count differs from the shape's
     */
    public void copyFrom(float[] values) {
        ensureOpen();
        if (values.length != shape.size()) {
            throw new IllegalArgumentException(values.length + " values given for a parameter of shape " + shape
                    + " (" + shape.size() + " elements)");
        }
        data.copyFrom(values);
    }

    /** Sets every element to {@code value}. */
    public void fill(float value) {
        ensureOpen();
        MemorySegment s = data.segment();
        for (long i = 0; i < shape.size(); i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, value);
        }
    }

    public boolean isClosed() {
        return data.isClosed();
    }

    private void ensureOpen() {
        if (data.isClosed()) {
            throw new IllegalStateException((trainable ? "Parameter " : "Buffer ") + shape
                    + " is closed (its module was closed)");
        }
    }

    /** Frees the data. Idempotent; called by the owning module's {@link Module#close()}. */
    @Override
    public void close() {
        data.close();
    }

    @Override
    public String toString() {
        return (trainable ? "Parameter" : "Buffer") + Arrays.toString(shape.dims());
    }
}
