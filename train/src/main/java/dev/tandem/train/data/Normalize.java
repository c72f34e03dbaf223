package dev.tandem.train.data;

import java.util.random.RandomGenerator;

/**
 * Per-channel normalisation {@code (x - mean[c]) / std[c]}, as torchvision's {@code Normalize}; a single value
 * applies to every channel. Uses no randomness. Immutable (holds copies of the arrays).
 */
public final class Normalize implements Transform {
    private final float[] mean;
    private final float[] std;

    public Normalize(float[] mean, float[] std) {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("Normalize needs as many means as standard deviations (one per"
                    + " channel, or one for all); got " + mean.length + " and " + std.length);
        }
        for (float s : std) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("Normalize standard deviations must be positive and finite");
            }
        }
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /**
     * The per-channel mean and (population) standard deviation of a whole dataset's pixels, as a normaliser;
     * e.g. about 0.2860 and 0.3530 for Fashion-MNIST's training set.
     */
    public static Normalize of(Dataset data) {
        int c = data.channels();
        int plane = data.height() * data.width();
        double[] sum = new double[c];
        double[] sq = new double[c];
        float[] x = new float[data.sampleSize()];
        for (int i = 0; i < data.size(); i++) {
            data.read(i, x, 0);
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                double q = 0;
                for (int k = ch * plane; k < (ch + 1) * plane; k++) {
                    s += x[k];
                    q += (double) x[k] * x[k];
                }
                sum[ch] += s;
                sq[ch] += q;
            }
        }
        float[] mean = new float[c];
        float[] std = new float[c];
        double n = (double) data.size() * plane;
        for (int ch = 0; ch < c; ch++) {
            double m = sum[ch] / n;
            mean[ch] = (float) m;
            std[ch] = (float) Math.sqrt(Math.max(sq[ch] / n - m * m, 1e-12));
        }
        return new Normalize(mean, std);
    }

    /** The means, one per channel (or one for all); a copy. */
    public float[] mean() {
        return mean.clone();
    }

    /** The standard deviations, one per channel (or one for all); a copy. */
    public float[] std() {
        return std.clone();
    }

    @Override
    public void apply(float[] x, int off, int channels, int height, int width, RandomGenerator rng) {
        if (mean.length != 1 && mean.length != channels) {
            throw new IllegalArgumentException("Normalize has " + mean.length + " channel values but the sample has "
                    + channels + " channels");
        }
        int plane = height * width;
        for (int c = 0; c < channels; c++) {
            float m = mean[mean.length == 1 ? 0 : c];
            float inv = 1f / std[mean.length == 1 ? 0 : c];
            int a = off + c * plane;
            for (int k = a; k < a + plane; k++) {
                x[k] = (x[k] - m) * inv;
            }
        }
    }

    @Override
    public String toString() {
        return "Normalize[mean " + java.util.Arrays.toString(mean) + ", std " + java.util.Arrays.toString(std) + "]";
    }
}
