package dev.tandem.runtime.graph;

import dev.tandem.runtime.tensor.Tensor;

/**
 * A named tensor of a {@link Graph}: a graph input, a constant (initializer or folded value, {@link #constant()}
 * non-null, owned by the graph) or the output of one node ({@link #producer()}). {@link #declared()} is the type
 * the model states for it, if any; concrete shapes are inferred per run signature by the planner.
 */
public final class Value {
    private final String name;
    private TensorType declared;
    private Tensor constant;
    private Node producer;

    public Value(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public TensorType declared() {
        return declared;
    }

    public void setDeclared(TensorType declared) {
        this.declared = declared;
    }

    /** The constant tensor, or null when the value is computed. */
    public Tensor constant() {
        return constant;
    }

    public boolean isConstant() {
        return constant != null;
    }

    public void setConstant(Tensor constant) {
        this.constant = constant;
    }

    /** The node computing this value, or null for graph inputs and constants. */
    public Node producer() {
        return producer;
    }

    void setProducer(Node producer) {
        this.producer = producer;
    }

    @Override
    public String toString() {
        return name;
    }
}
