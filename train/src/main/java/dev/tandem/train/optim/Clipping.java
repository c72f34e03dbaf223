package dev.tandem.train.optim;

/**
 * Gradient clipping by global norm, as PyTorch's {@code clip_grad_norm_}: {@code norm = sqrt(Σ g²)} over every
 * element of every gradient; when clipping is on ({@code maxNorm > 0}) every gradient is multiplied by
 * {@code min(1, maxNorm / (norm + 1e-6))}. The step ops follow the same rule.
 */
public final class Clipping {
    /** Added to the norm in the clip coefficient, as PyTorch does. */
    public static final double EPSILON = 1e-6;

    private Clipping() {
    }

    /** The global L2 norm of all gradients, accumulated in double. */
    public static double globalNorm(float[][] grads) {
        double s = 0;
        for (float[] g : grads) {
            for (float v : g) {
                s += (double) v * v;
            }
        }
        return Math.sqrt(s);
    }

    /** The factor gradients are multiplied by: 1 when {@code maxNorm <= 0} (off) or the norm is within it. */
    public static double scale(double norm, double maxNorm) {
        return maxNorm > 0 ? Math.min(1, maxNorm / (norm + EPSILON)) : 1;
    }
}
