package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.Activation;

/**
 * The slow, obvious inference batch normalization in double, straight from the formula
 * {@code act((x - mean) / sqrt(var + eps) · scale + bias)}, channels on axis 1 of a row-major
 * {@code [n, c, inner]} layout. The double-in form is also the float64 BatchNormalization kernel of the ops.
 */
public final class ReferenceBatchNorm {
    private ReferenceBatchNorm() {
    }

    public static double[] batchNorm(float[] x, int n, int c, int inner, float[] scale, float[] bias, float[] mean,
                                     float[] var, float epsilon, Activation act) {
        return batchNorm(Widen.of(x), n, c, inner, Widen.of(scale), Widen.of(bias), Widen.of(mean), Widen.of(var),
                epsilon, act);
    }

    public static double[] batchNorm(double[] x, int n, int c, int inner, double[] scale, double[] bias,
                                     double[] mean, double[] var, double epsilon, Activation act) {
        double[] out = new double[x.length];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < inner; i++) {
                    int idx = (b * c + ch) * inner + i;
                    double y = (x[idx] - mean[ch]) / Math.sqrt(var[ch] + epsilon) * scale[ch] + bias[ch];
                    out[idx] = ReferenceActivation.apply(act, y);
                }
            }
        }
        return out;
    }
}
