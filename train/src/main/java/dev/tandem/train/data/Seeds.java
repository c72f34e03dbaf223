package dev.tandem.train.data;

import java.util.SplittableRandom;

/**
 * Seeds derived from a base seed and coordinates by SplitMix64 mixing, so that a random stream depends only on its
 * coordinates (seed, epoch, sample), never on the order in which threads ask for it.
 */
final class Seeds {
    private static final long GAMMA = 0x9e3779b97f4a7c15L;

    private Seeds() {
    }

    /** SplitMix64's finaliser: a bijective, well-mixing map of 64-bit values. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** A seed for the coordinates {@code parts} under {@code seed}; different coordinates give unrelated seeds. */
    static long of(long seed, long... parts) {
        long h = mix64(seed + GAMMA);
        for (long p : parts) {
            h = mix64(h + GAMMA + mix64(p + GAMMA));
        }
        return h;
    }

    /** A generator for the coordinates {@code parts} under {@code seed}. */
    static SplittableRandom random(long seed, long... parts) {
        return new SplittableRandom(of(seed, parts));
    }
}
