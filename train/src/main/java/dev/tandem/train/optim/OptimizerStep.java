package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.Var;
import java.util.List;

/**
 * The step node {@link Optimizer#emitStep} appended and the graph inputs it declared, for the trainer to bind.
 *
 * @param node     the {@code dev.tandem.SgdStep} or {@code AdamStep} node
 * @param lr       the float32 scalar learning-rate input
 * @param step     the int64 scalar 1-based step input (Adam), or null
 * @param state    per state kind and parameter, the input the trainer binds to a zero-initialised tensor it keeps
 *                 across steps, in the node's input order: every parameter's first state
 *                 ({@link Optimizer#stateNames()}), then every parameter's second
 * @param gradNorm the float32 scalar global gradient norm before clipping (a graph output)
 */
public record OptimizerStep(Node node, Var lr, Var momentum, Var step, List<State> state, Var gradNorm) {
    /** Name of the learning-rate input (float32 scalar). */
    public static final String LR_INPUT = "lr";
    /** Name of SGD's momentum input (float32 scalar; present when the momentum is non-zero, so it can follow a
     *  schedule). */
    public static final String MOMENTUM_INPUT = "momentum";
    /** Name of Adam's 1-based step input (int64 scalar). */
    public static final String STEP_INPUT = "step";

    /** One state input: {@code name} = {@code parameter + "." + kind}, shaped like the parameter. */
    public record State(String name, String parameter, String kind, Shape shape, Var var) {
    }
}
