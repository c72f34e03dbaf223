package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.Activation;

/** Activations evaluated in double, for the reference kernels. */
public final class ReferenceActivation {
    private ReferenceActivation() {
    }

    public static double apply(Activation a, double x) {
        return switch (a.kind()) {
            case NONE -> x;
            case RELU -> Math.max(x, 0);
            case CLIP -> Math.min(Math.max(x, a.min()), a.max());
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case SILU -> x / (1 + Math.exp(-x));
            case HARDSWISH -> x * Math.min(Math.max(x + 3, 0), 6) / 6;
        };
    }
}
