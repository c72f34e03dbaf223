package dev.tandem.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * Schedules against values computed by hand from PyTorch's definitions (the OneCycleLR ones with a transcription
 * of its {@code get_lr} and {@code _annealing_cos}).
 */
class LrScheduleTest {
    private static final double EPS = 1e-12;

    @Test
    void constantAndStep() {
        assertThat(LrSchedule.constant(0.1).lr(0)).isEqualTo(0.1);
        assertThat(LrSchedule.constant(0.1).lr(1_000_000)).isEqualTo(0.1);
        LrSchedule s = LrSchedule.step(0.1, 30, 0.1);
        assertThat(s.lr(0)).isCloseTo(0.1, within(EPS));
        assertThat(s.lr(29)).isCloseTo(0.1, within(EPS));
        assertThat(s.lr(30)).isCloseTo(0.01, within(EPS));
        assertThat(s.lr(65)).isCloseTo(0.001, within(EPS));
    }

    @Test
    void cosineAnnealing() {
        LrSchedule c = LrSchedule.cosine(0.1, 100, 0);
        assertThat(c.lr(0)).isCloseTo(0.1, within(EPS));
        assertThat(c.lr(25)).isCloseTo(0.08535533905932738, within(EPS));
        assertThat(c.lr(50)).isCloseTo(0.05, within(EPS));
        assertThat(c.lr(100)).isCloseTo(0, within(EPS));
        assertThat(c.lr(150)).isCloseTo(0, within(EPS));
        assertThat(LrSchedule.cosine(0.1, 100, 0.001).lr(50)).isCloseTo(0.0505, within(EPS));
    }

    @Test
    void cosineWithWarmupAndTheWarmupWrapper() {
        LrSchedule c = LrSchedule.cosine(0.1, 110, 0, 10);
        assertThat(c.lr(0)).isCloseTo(0, within(EPS));
        assertThat(c.lr(5)).isCloseTo(0.05, within(EPS));
        assertThat(c.lr(10)).isCloseTo(0.1, within(EPS));
        assertThat(c.lr(60)).isCloseTo(0.05, within(EPS));
        assertThat(c.lr(110)).isCloseTo(0, within(EPS));
        // LinearLR(start_factor=0.25, total_iters=4) then constant.
        LrSchedule w = LrSchedule.warmup(LrSchedule.constant(0.1), 4, 0.25);
        assertThat(w.lr(0)).isCloseTo(0.025, within(EPS));
        assertThat(w.lr(2)).isCloseTo(0.0625, within(EPS));
        assertThat(w.lr(4)).isCloseTo(0.1, within(EPS));
        assertThat(LrSchedule.warmup(LrSchedule.step(0.1, 2, 0.5), 3, 0).lr(5)).isCloseTo(0.05, within(EPS));
        assertThatThrownBy(() -> LrSchedule.cosine(0.1, 10, 0, 10)).hasMessageContaining("Warm-up");
    }

    @Test
    void oneCycleCyclesMomentumLikePyTorch() {
        // PyTorch OneCycleLR(max_lr=0.1, total_steps=100, pct_start=0.25): momentum 0.95 at step 0, 0.85 at the
        // peak (step 24), 0.95 at the end; cosine in between.
        OneCycleLr s = (OneCycleLr) LrSchedule.oneCycle(0.1, 100, 0.25);
        assertThat(s.momentum(0, 0.85, 0.95)).isCloseTo(0.95, within(1e-12));
        assertThat(s.momentum(24, 0.85, 0.95)).isCloseTo(0.85, within(1e-12));
        assertThat(s.momentum(12, 0.85, 0.95)).isCloseTo(0.85 + 0.05 * (1 + Math.cos(Math.PI * 12 / 24.0)),
                within(1e-12));
        assertThat(s.momentum(99, 0.85, 0.95)).isCloseTo(0.95, within(1e-12));
    }

    @Test
    void oneCycleOnTinyRunsStaysFinite() {
        LrSchedule s = LrSchedule.oneCycle(0.1, 4, 0.25);
        for (long step = 0; step <= 4; step++) {
            assertThat(s.lr(step)).as("step " + step).isFinite().isBetween(0.0, 0.1);
        }
        assertThat(s.lr(0)).isEqualTo(0.1);
    }

    @Test
    void oneCycleMatchesPyTorch() {
        // OneCycleLR(max_lr=0.1, total_steps=100, pct_start=0.25): initial 0.004, min 4e-7.
        LrSchedule s = LrSchedule.oneCycle(0.1, 100, 0.25);
        double[][] want = {{0, 0.0040000000000000036}, {1, 0.004410646654057104}, {12, 0.052000000000000005},
            {24, 0.1}, {25, 0.0999561416803769}, {62, 0.048953083194316134}, {98, 4.425831962310061e-05},
            {99, 4e-07}, {100, 4.425831962310061e-05}};
        for (double[] w : want) {
            assertThat(s.lr((long) w[0])).as("step %d", (long) w[0]).isCloseTo(w[1], within(1e-15));
        }
        // PyTorch's defaults (pct_start 0.3).
        LrSchedule d = LrSchedule.oneCycle(0.01, 1000);
        double[][] want2 = {{0, 0.0003999999999999993}, {150, 0.005225216681225468}, {299, 0.01},
            {300, 0.009999949645161448}, {650, 0.004977580217564862}, {999, 4e-08}};
        for (double[] w : want2) {
            assertThat(d.lr((long) w[0])).as("step %d", (long) w[0]).isCloseTo(w[1], within(1e-15));
        }
        // three_phase=True, total 10, pct_start 0.3.
        LrSchedule t = new OneCycleLr(1.0, 10, 0.3, 25, 1e4, true);
        double[] want3 = {0.04, 0.52, 1.0, 0.52, 0.04, 0.0361807218535102, 0.0261817218535102,
            0.013822278146489805, 0.0038232781464898036, 4e-06, 0.0038232781464897993};
        for (int i = 0; i < want3.length; i++) {
            assertThat(t.lr(i)).as("step %d", i).isCloseTo(want3[i], within(1e-14));
        }
        assertThatThrownBy(() -> s.lr(101)).hasMessageContaining("past the schedule");
        assertThatThrownBy(() -> s.lr(-1)).hasMessageContaining("from 0");
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> LrSchedule.constant(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LrSchedule.step(0.1, 0, 0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LrSchedule.cosine(0.1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LrSchedule.oneCycle(0.1, 10, 1.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LrSchedule.warmup(LrSchedule.constant(1), 3, 2)).isInstanceOf(IllegalArgumentException.class);
    }
}
