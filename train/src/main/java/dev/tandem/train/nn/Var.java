package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * A symbolic tensor during tracing: a {@link Value} of the graph a {@link Tracer} builds, with its element type
 * and its static shape (the batch dimension included, as traced). Layers read the shape to size what follows
 * (e.g. the input features of a linear layer after a flatten).
 *
 * <p>The instance methods are shortcuts for the {@link Functional} ops; a Var is only meaningful with its tracer.
 */
public final class Var {
    private final Tracer tracer;
    private final Value value;
    private final DType dtype;
    private final Shape shape;

    Var(Tracer tracer, Value value, DType dtype, Shape shape) {
        this.tracer = tracer;
        this.value = value;
        this.dtype = dtype;
        this.shape = shape;
    }

    public Tracer tracer() {
        return tracer;
    }

    /** The graph value this variable stands for. */
    public Value value() {
        return value;
    }

    public String name() {
        return value.name();
    }

    public DType dtype() {
        return dtype;
    }

    /** The static shape, as traced. */
    public Shape shape() {
        return shape;
    }

    public int rank() {
        return shape.rank();
    }

    /** Size of dimension {@code axis} (negative counts from the end). */
    public int dim(int axis) {
        return shape.dim(axis);
    }

    public Var relu() {
        return Functional.relu(this);
    }

    public Var sigmoid() {
        return Functional.sigmoid(this);
    }

    public Var tanh() {
        return Functional.tanh(this);
    }

    public Var flatten() {
        return Functional.flatten(this);
    }

    public Var add(Var other) {
        return Functional.add(this, other);
    }

    public Var sub(Var other) {
        return Functional.sub(this, other);
    }

    public Var mul(Var other) {
        return Functional.mul(this, other);
    }

    /** Like {@code float32[8, 32, 28, 28] 'x'}. */
    @Override
    public String toString() {
        return dtype.name().toLowerCase(java.util.Locale.ROOT) + shape + " '" + value.name() + "'";
    }
}
