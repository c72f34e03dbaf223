package dev.tandem.train.data;

import java.util.random.RandomGenerator;

/**
 * Mirrors a sample left to right with probability {@code p} (one draw per sample, always made). Stateless.
 *
 * @param p probability of flipping, in [0, 1]
 */
public record RandomHorizontalFlip(double p) implements Transform {
    public RandomHorizontalFlip {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("Flip probability must be in [0, 1], not " + p);
        }
    }

    @Override
    public void apply(float[] x, int off, int channels, int height, int width, RandomGenerator rng) {
        if (rng.nextDouble() >= p) {
            return;
        }
        for (int row = 0; row < channels * height; row++) {
            int a = off + row * width;
            for (int i = 0, j = width - 1; i < j; i++, j--) {
                float t = x[a + i];
                x[a + i] = x[a + j];
                x[a + j] = t;
            }
        }
    }
}
