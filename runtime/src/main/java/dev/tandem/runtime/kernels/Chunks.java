package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;

/** Splits {@code units} of independent work into contiguous ranges run on a {@link ThreadPool}. */
final class Chunks {
    /**
     * Below this many (roughly) elementary operations a kernel runs on the calling thread alone: waking workers
     * costs microseconds, more than the work saves.
     */
    static final long PARALLEL_MIN_COST = 1L << 15;

    /** The work on units {@code [from, to)}. */
    @FunctionalInterface
    interface Body {
        void run(int from, int to);
    }

    private Chunks() {
    }

    /**
     * Runs {@code body} over {@code [0, units)}, in a few chunks per pool thread when {@code cost} (an estimate of
     * the total work) makes that worth it, else in one call on this thread.
     */
    static void run(ThreadPool pool, int units, long cost, Body body) {
        if (units <= 0) {
            return;
        }
        int chunks = cost < PARALLEL_MIN_COST || pool.threads() == 1 ? 1 : (int) Math.min(units, pool.threads() * 4L);
        if (chunks <= 1) {
            body.run(0, units);
            return;
        }
        pool.parallelFor(chunks, t -> body.run((int) ((long) units * t / chunks),
                (int) ((long) units * (t + 1) / chunks)));
    }
}
