package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ops.OpRegistry;

/**
 * Registers the training ops (domain {@code dev.tandem}): training-mode forward ops, the gradient ops that
 * {@code runtime.autodiff} emits, and the optimizer steps. docs/training.md lists their contracts.
 */
public final class TrainOps {
    private TrainOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new BatchNormTrain());
        r.add(new BatchNormGrad());
        r.add(new DropoutTrain());
        r.add(new SoftmaxCrossEntropy());
        r.add(new SoftmaxCrossEntropyGrad());
        r.add(new NllLossGrad());
        r.add(new ConvGradInput());
        r.add(new ConvGradWeight());
        r.add(new PoolGrad());
        r.add(new ActivationGrad());
        r.add(new ReduceToShape());
        r.add(new SgdStep());
        r.add(new AdamStep());
    }
}
