package dev.tandem.runtime.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class JitSettleTest {
    private static final long MS = 1_000_000L;

    @Test
    void stopsOnceTheCounterHasBeenStillForTheQuietInterval() {
        AtomicInteger rounds = new AtomicInteger();
        // the "compiler" finishes something in each of the first 5 rounds, then nothing
        int ran = JitSettle.runUntilQuiet(() -> {
            rounds.incrementAndGet();
            sleep(2);
        }, () -> Math.min(rounds.get(), 5), 20 * MS, 10_000 * MS);
        assertThat(ran).isEqualTo(rounds.get());
        // quiet from round 5 on: then 20 ms of rounds of at least 2 ms (at most 10 more; sleeps may overshoot), far
        // fewer than the 10 s limit would allow
        assertThat(ran).isBetween(6, 200);
    }

    @Test
    void aCounterThatNeverSettlesStopsAtTheLimit() {
        AtomicInteger rounds = new AtomicInteger();
        long t0 = System.nanoTime();
        int ran = JitSettle.runUntilQuiet(() -> {
            rounds.incrementAndGet();
            sleep(1);
        }, rounds::get, 10_000 * MS, 50 * MS);
        long took = System.nanoTime() - t0;
        assertThat(took).isBetween(50 * MS, 5_000 * MS);
        assertThat(ran).isEqualTo(rounds.get()).isPositive();
    }

    @Test
    void runsAtLeastOnceAndRefusesNegativeTimes() {
        AtomicInteger rounds = new AtomicInteger();
        assertThat(JitSettle.runUntilQuiet(rounds::incrementAndGet, () -> 0, 0, 0)).isEqualTo(1);
        assertThatThrownBy(() -> JitSettle.runUntilQuiet(() -> { }, () -> 0, -1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 0");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
