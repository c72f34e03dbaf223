package dev.tandem.runtime.ops;

/**
 * One operator: given a node with concrete input types and shapes (and the values of inputs known at plan time),
 * it checks the node, infers its outputs and prepares a kernel. Ops are stateless singletons; everything a run
 * needs lives in the returned {@link Prepared}.
 *
 * <p>To add an op: write a class implementing this interface in {@code ops.math}, {@code ops.nn} or
 * {@code ops.shape}, register it in that package's registration class, and add a test comparing it with a
 * reference (see docs/architecture.md, "Adding an op").
 */
public interface Op {
    /** The ONNX op type, like "Conv". */
    String type();

    /** The op's domain: "" for ONNX's default domain. */
    default String domain() {
        return "";
    }

    /** The lowest default-domain opset version whose semantics this op implements. */
    default int minOpset() {
        return 1;
    }

    /**
     * Prepares the node for the concrete inputs described by {@code ctx}.
     *
     * @throws dev.tandem.runtime.ModelException            when the node is invalid for these inputs
     * @throws dev.tandem.runtime.UnsupportedModelException when it uses something Tandem does not run
     */
    Prepared prepare(OpContext ctx);

    /**
     * Inputs this op writes in place: training state such as running statistics, parameters and optimizer
     * moments (see docs/training.md). The planner accepts a node of such an op only when each of these inputs is
     * a graph input, bound to a tensor the caller owns; it is never folded. Empty for every inference op.
     *
     * @param inputCount the number of input slots the node lists (variadic ops depend on it)
     */
    default int[] mutatedInputs(int inputCount) {
        return new int[0];
    }
}
