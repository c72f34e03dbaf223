package dev.tandem.train.optim;

/**
 * A linear warm-up before another schedule, as PyTorch's {@code SequentialLR([LinearLR(startFactor, 1,
 * warmupSteps), inner], milestones=[warmupSteps])}: for {@code step < warmupSteps} the rate is
 * {@code inner.lr(0)·(startFactor + (1 - startFactor)·step/warmupSteps)}; afterwards
 * {@code inner.lr(step - warmupSteps)}.
 */
public record WarmupLr(LrSchedule inner, long warmupSteps, double startFactor) implements LrSchedule {
    public WarmupLr {
        java.util.Objects.requireNonNull(inner, "inner");
        if (warmupSteps < 0 || !(startFactor >= 0 && startFactor <= 1)) {
            throw new IllegalArgumentException("WarmupLr: warm-up steps >= 0 and start factor in [0, 1]; got "
                    + warmupSteps + ", " + startFactor);
        }
    }

    @Override
    public double lr(long step) {
        LrSchedule.checkStep(step);
        if (step >= warmupSteps) {
            return inner.lr(step - warmupSteps);
        }
        return inner.lr(0) * (startFactor + (1 - startFactor) * step / (double) warmupSteps);
    }
}
