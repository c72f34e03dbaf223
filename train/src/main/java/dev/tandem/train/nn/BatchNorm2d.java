package dev.tandem.train.nn;

import java.util.Random;

/**
 * Batch normalisation over the channels of [N, C, H, W], as {@code torch.nn.BatchNorm2d} (affine, tracking
 * running statistics): parameters {@code weight} (1) and {@code bias} (0), buffers {@code running_mean} (0) and
 * {@code running_var} (1). In a TRAIN trace, while {@link #isTraining()}, it emits {@code dev.tandem.BatchNormTrain}
 * (batch statistics, running statistics updated in place: {@code r = (1-momentum)·r + momentum·batch}); otherwise
 * ONNX {@code BatchNormalization} with the running statistics.
 */
public final class BatchNorm2d extends Module {
    private final int features;
    private final double eps;
    private final double momentum;
    private final Parameter weight;
    private final Parameter bias;
    private final Parameter runningMean;
    private final Parameter runningVar;

    /** eps 1e-5, momentum 0.1 (PyTorch's defaults). */
    public BatchNorm2d(int features) {
        this(features, 1e-5, 0.1);
    }

    public BatchNorm2d(int features, double eps, double momentum) {
        if (features < 1 || !(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("BatchNorm2d: features >= 1, eps > 0 and momentum in [0, 1]; got "
                    + features + ", " + eps + ", " + momentum);
        }
        this.features = features;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = addParameter("weight", features);
        this.bias = addParameter("bias", features);
        this.runningMean = addBuffer("running_mean", features);
        this.runningVar = addBuffer("running_var", features);
        resetOwnParameters(null);
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    public Parameter runningMean() {
        return runningMean;
    }

    public Parameter runningVar() {
        return runningVar;
    }

    @Override
    public Var forward(Var x) {
        Tracer t = x.tracer();
        return Functional.batchNorm(x, t.state(weight), t.state(bias), t.state(runningMean), t.state(runningVar),
                t.training() && isTraining(), eps, momentum);
    }

    @Override
    protected void resetOwnParameters(Random random) {
        weight.fill(1);
        bias.fill(0);
        runningMean.fill(0);
        runningVar.fill(1);
    }

    @Override
    protected String extraRepr() {
        return features + ", eps=" + eps + ", momentum=" + momentum;
    }
}
