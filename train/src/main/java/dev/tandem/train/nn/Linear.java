package dev.tandem.train.nn;

import java.util.Random;

/**
 * {@code y = x·Wᵀ + b} as {@code torch.nn.Linear}: weight [out, in], optional bias [out], input [N, in]. Emits
 * ONNX {@code Gemm} with transB = 1. Initialised like PyTorch (weight Kaiming-uniform a = √5, bias uniform
 * ±{@code 1/sqrt(in)}).
 */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures < 1 || outFeatures < 1) {
            throw new IllegalArgumentException("Linear: feature counts must be >= 1; got " + inFeatures + ", "
                    + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = addParameter("weight", outFeatures, inFeatures);
        this.bias = bias ? addParameter("bias", outFeatures) : null;
        resetOwnParameters(new Random());
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Var forward(Var x) {
        Tracer t = x.tracer();
        return Functional.linear(x, t.state(weight), bias == null ? null : t.state(bias));
    }

    @Override
    protected void resetOwnParameters(Random random) {
        Init.pytorchDefault(weight, bias, inFeatures, random);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null ? "True" : "False");
    }
}
