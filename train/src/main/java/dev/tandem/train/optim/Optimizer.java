package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import java.util.List;

/**
 * An optimizer configuration: {@link Sgd}, {@link Adam} or {@link AdamW}. Immutable.
 *
 * <p><b>In a graph.</b> {@link #emitStep} appends the single step node of a training graph; the trainer binds its
 * {@code lr} (and {@code step}) inputs every run and owns the per-parameter state tensors
 * ({@link #stateNames()}, zero-initialised, shaped like their parameter) that the node updates in place.
 *
 * <p><b>Reference.</b> {@link #referenceStep} is the update in plain Java, PyTorch's semantics: gradients are
 * first clipped to the global norm {@link #maxGradNorm()} ({@link Clipping}), then weight decay, momenta and the
 * parameter update are applied per element in double precision and stored as float.
 */
public sealed interface Optimizer permits Sgd, Adam, AdamW {
    /** The default learning rate (a schedule may override it per step). */
    double lr();

    double weightDecay();

    /** Maximum global gradient norm; 0 turns clipping off. */
    double maxGradNorm();

    /**
     * When false, weight decay skips rank-1 parameters (biases and normalisation scales and shifts), a common
     * choice; when true (PyTorch's behaviour) it applies to every parameter.
     */
    boolean decayVectors();

    /** The state tensors kept per parameter, in the order the step node takes them. */
    List<String> stateNames();

    /** Whether weight decay applies to the parameter named {@code name} of shape {@code shape}. */
    default boolean decays(String name, Shape shape) {
        return decayVectors() || shape.rank() > 1;
    }

    /**
     * Appends this optimizer's step node to {@code tracer}'s graph, declaring its inputs: float32 scalar
     * {@value OptimizerStep#LR_INPUT}, (Adam) int64 scalar {@value OptimizerStep#STEP_INPUT}, and one float32 input per
     * parameter and state named {@code <parameter>.<state>} (e.g. {@code fc.weight.momentum_buffer}). Its output
     * {@code grad_norm} (the norm before clipping) becomes a graph output.
     *
     * @param parameters the trainable parameters ({@link Traced#parameters()}), in order
     * @param gradients  the gradient of the loss with respect to each parameter, same order and shapes
     * @throws IllegalArgumentException when the lists differ in length or a name is taken
     */
    OptimizerStep emitStep(Tracer tracer, List<Traced.Binding> parameters, List<Value> gradients);

    /**
     * One update in plain Java. Updates {@code params} and {@code state} in place; {@code grads} are not changed.
     *
     * @param lr     the learning rate of this step
     * @param step   1-based step count (Adam's bias correction; ignored by SGD)
     * @param state  per parameter, its state arrays in {@link #stateNames()} order (zeros before the first step)
     * @param decay  per parameter, whether weight decay applies
     * @return the global gradient norm before clipping
     */
    double referenceStep(double lr, long step, float[][] params, float[][] grads, float[][][] state,
                         boolean[] decay);
}
