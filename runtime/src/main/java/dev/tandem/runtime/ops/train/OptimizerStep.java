package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * What {@link SgdStep} and {@link AdamStep} share: the layout of their variadic inputs (a few scalars, then k
 * parameters, k gradients and k tensors per moment), the per-parameter weight-decay mask, and global-norm
 * gradient clipping.
 */
final class OptimizerStep {
    private OptimizerStep() {
    }

    /** Checks the layout and returns k, the number of parameters. */
    static int check(OpContext ctx, int scalars, int moments) {
        int count = ctx.inputCount() - scalars;
        int groups = 2 + moments;
        if (count <= 0 || count % groups != 0) {
            throw ctx.fail("expects " + scalars + " scalar inputs, then k parameters, k gradients and k tensors for "
                    + "each of " + moments + " moments; got " + ctx.inputCount() + " inputs");
        }
        int k = count / groups;
        for (int i = 0; i < k; i++) {
            DType t = ctx.requireType(scalars + i, DType.FLOAT32, DType.FLOAT64);
            Shape s = ctx.shape(scalars + i);
            for (int g = 1; g < groups; g++) {
                int j = scalars + g * k + i;
                ctx.requireType(j, t);
                if (!ctx.shape(j).equals(s)) {
                    throw ctx.fail("input " + j + " must have parameter " + i + "'s shape " + s + "; got "
                            + ctx.shape(j));
                }
            }
        }
        long[] decay = ctx.attrInts("decay");
        if (decay != null && decay.length != k) {
            throw ctx.fail("attribute 'decay' must have one value per parameter (" + k + "); got " + decay.length);
        }
        return k;
    }

    /** Inputs written in place: the parameters and the moments. */
    static int[] mutated(int inputCount, int scalars, int moments) {
        int k = (inputCount - scalars) / (2 + moments);
        int[] m = new int[k * (1 + moments)];
        int n = 0;
        for (int i = 0; i < k; i++) {
            m[n++] = scalars + i;
        }
        for (int g = 2; g < 2 + moments; g++) {
            for (int i = 0; i < k; i++) {
                m[n++] = scalars + g * k + i;
            }
        }
        return m;
    }

    static boolean[] decayMask(OpContext ctx, int k) {
        long[] decay = ctx.attrInts("decay");
        boolean[] mask = new boolean[k];
        for (int i = 0; i < k; i++) {
            mask[i] = decay == null || decay[i] != 0;
        }
        return mask;
    }

    /** The global L2 norm of the gradients {@code in[from .. from + k)}. */
    static double norm(Tensor[] in, int from, int k) {
        double sq = 0;
        for (int i = 0; i < k; i++) {
            double[] g = Doubles.read(in[from + i]);
            for (double v : g) {
                sq += v * v;
            }
        }
        return Math.sqrt(sq);
    }

    /** PyTorch's {@code clip_grad_norm_} factor: 1 unless the norm exceeds the maximum (0 = no clipping). */
    static double clipFactor(double norm, double maxNorm) {
        if (maxNorm <= 0 || norm <= maxNorm) {
            return 1;
        }
        return maxNorm / (norm + 1e-6);
    }
}
