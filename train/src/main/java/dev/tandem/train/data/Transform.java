package dev.tandem.train.data;

import java.util.random.RandomGenerator;

/**
 * A per-sample transform applied by the {@link DataLoader} after reading, in place and keeping the sample's shape:
 * {@code x[off .. off + channels·height·width)} in CHW order.
 *
 * <p>Determinism: all randomness comes from {@code rng}, a generator the loader derives from (seed, epoch, sample
 * index) alone; a chain of transforms draws from it in order. Threads: the loader calls {@code apply} from several
 * worker threads at once, so implementations must be stateless (or otherwise thread-safe).
 */
@FunctionalInterface
public interface Transform {
    void apply(float[] x, int off, int channels, int height, int width, RandomGenerator rng);

    /** Pads each side with {@code padding} zeros, then crops back to the original size at a random offset. */
    static Transform randomCrop(int padding) {
        return new RandomCrop(padding);
    }

    /** Mirrors the sample left to right with probability {@code p}. */
    static Transform randomHorizontalFlip(double p) {
        return new RandomHorizontalFlip(p);
    }

    /** {@code (x - mean[c]) / std[c]} per channel c; one value stands for every channel. */
    static Transform normalize(float[] mean, float[] std) {
        return new Normalize(mean, std);
    }
}
