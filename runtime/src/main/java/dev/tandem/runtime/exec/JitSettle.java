package dev.tandem.runtime.exec;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Repeats a piece of work until the JIT has settled: until a counter of finished compilations (the caller's, e.g.
 * {@code ManagementFactory.getCompilationMXBean()::getTotalCompilationTime}; the runtime itself links no
 * {@code java.management}) has not moved for a quiet interval, or a time limit passes. For benchmarks: on two cores
 * C2 compiles the kernels' large methods for seconds after the first hundreds of runs and takes a core meanwhile, so
 * times taken before that measure the compiler (docs/benchmarks.md, "Tenth session").
 */
public final class JitSettle {
    private JitSettle() {
    }

    /**
     * Runs {@code round} at least once, then until {@code compiled} has returned the same value for
     * {@code quietNanos}, or {@code maxNanos} have passed since the start; returns how many rounds ran.
     *
     * @throws IllegalArgumentException when {@code quietNanos} or {@code maxNanos} is negative
     */
    public static int runUntilQuiet(Runnable round, LongSupplier compiled, long quietNanos, long maxNanos) {
        Objects.requireNonNull(round, "round");
        Objects.requireNonNull(compiled, "compiled");
        if (quietNanos < 0 || maxNanos < 0) {
            throw new IllegalArgumentException("quiet and max times must be >= 0; got " + quietNanos + " and "
                    + maxNanos + " ns");
        }
        long start = System.nanoTime(), quietSince = start, last = compiled.getAsLong();
        int rounds = 0;
        do {
            round.run();
            rounds++;
            long now = System.nanoTime(), c = compiled.getAsLong();
            if (c != last) {
                last = c;
                quietSince = now;
            } else if (now - quietSince >= quietNanos) {
                break;
            }
        } while (System.nanoTime() - start < maxNanos);
        return rounds;
    }
}
