package dev.tandem.train.nn;

import java.util.Random;

/**
 * Parameter initialisations, as {@code torch.nn.init} computes them. Values are drawn as doubles from the given
 * {@link Random} in row-major order and rounded to float, so one seed gives one result.
 */
public final class Init {
    private Init() {
    }

    /** Fills {@code p} with values uniform in {@code [-bound, bound)}. */
    public static void uniform(Parameter p, double bound, Random random) {
        float[] v = new float[Math.toIntExact(p.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        p.copyFrom(v);
    }

    /**
     * The bound of {@code kaiming_uniform_(w, a, mode="fan_in", nonlinearity="leaky_relu")}:
     * {@code sqrt(6 / ((1 + a²) · fanIn))}. PyTorch's Conv and Linear defaults use {@code a = sqrt(5)}, which
     * gives {@code 1 / sqrt(fanIn)}.
     */
    public static double kaimingUniformBound(int fanIn, double a) {
        if (fanIn <= 0) {
            throw new IllegalArgumentException("fan-in must be positive; got " + fanIn);
        }
        return Math.sqrt(6.0 / ((1 + a * a) * fanIn));
    }

    /**
     * PyTorch's default for Conv2d and Linear ({@code reset_parameters}): the weight Kaiming-uniform with
     * {@code a = sqrt(5)} (bound {@code 1/sqrt(fanIn)}), then the bias (when present) uniform in
     * {@code ±1/sqrt(fanIn)}.
     */
    public static void pytorchDefault(Parameter weight, Parameter bias, int fanIn, Random random) {
        uniform(weight, kaimingUniformBound(fanIn, Math.sqrt(5)), random);
        if (bias != null) {
            uniform(bias, 1 / Math.sqrt(fanIn), random);
        }
    }
}
