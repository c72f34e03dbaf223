package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.graph.Value;

/**
 * How to differentiate one op: given the node and the gradients flowing into its outputs, emit the nodes that
 * compute the gradients of its inputs. Rules build graph nodes (they never compute), so the backward graph is
 * planned and run like any other; shapes that are only known at plan time come from {@code Shape} nodes, which
 * the planner folds into constants.
 */
@FunctionalInterface
public interface GradientRule {
    /**
     * @return per node input, the value holding its gradient, or null where the input needs none
     *         ({@link GradContext#needs(int)} false) or is not differentiable
     */
    Value[] backward(GradContext ctx);
}
