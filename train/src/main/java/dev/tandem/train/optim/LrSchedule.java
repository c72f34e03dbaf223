package dev.tandem.train.optim;

/**
 * The learning rate of each optimizer step. {@code lr(step)} is the rate used by step {@code step} (0-based):
 * PyTorch's scheduler rate after {@code step} calls to {@code scheduler.step()}, with the scheduler stepped once
 * per optimizer step. Implementations are immutable records; pure functions of the step.
 */
public interface LrSchedule {
    /**
     * The learning rate for 0-based step {@code step}.
     *
     * @throws IllegalArgumentException for a negative step, or past the end of a schedule with a fixed length
     */
    double lr(long step);

    /** A constant rate. */
    static LrSchedule constant(double lr) {
        return new ConstantLr(lr);
    }

    /** {@code lr · gamma^(step / stepSize)} (integer division), as PyTorch's {@code StepLR}. */
    static LrSchedule step(double lr, long stepSize, double gamma) {
        return new StepLr(lr, stepSize, gamma);
    }

    /** Cosine annealing from {@code lr} to {@code minLr} over {@code totalSteps}, as {@code CosineAnnealingLR}. */
    static LrSchedule cosine(double lr, long totalSteps, double minLr) {
        return new CosineLr(lr, totalSteps, minLr);
    }

    /**
     * A linear warm-up from 0 over {@code warmupSteps}, then cosine annealing from {@code lr} to {@code minLr}
     * over the remaining {@code totalSteps - warmupSteps}.
     */
    static LrSchedule cosine(double lr, long totalSteps, double minLr, long warmupSteps) {
        if (warmupSteps == 0) {
            return cosine(lr, totalSteps, minLr);
        }
        if (warmupSteps < 0 || warmupSteps >= totalSteps) {
            throw new IllegalArgumentException("Warm-up steps must be in [0, totalSteps); got " + warmupSteps
                    + " of " + totalSteps);
        }
        return new WarmupLr(new CosineLr(lr, totalSteps - warmupSteps, minLr), warmupSteps, 0);
    }

    /** PyTorch's {@code OneCycleLR} with its defaults: pct_start 0.3, div_factor 25, final_div_factor 1e4. */
    static LrSchedule oneCycle(double maxLr, long totalSteps) {
        return new OneCycleLr(maxLr, totalSteps, 0.3, 25, 1e4, false);
    }

    /** PyTorch's {@code OneCycleLR} (cosine annealing) with the given warm-up fraction and the default factors. */
    static LrSchedule oneCycle(double maxLr, long totalSteps, double pctStart) {
        return new OneCycleLr(maxLr, totalSteps, pctStart, 25, 1e4, false);
    }

    /** {@code inner} after a linear warm-up of {@code warmupSteps} from {@code startFactor · inner.lr(0)}. */
    static LrSchedule warmup(LrSchedule inner, long warmupSteps, double startFactor) {
        return new WarmupLr(inner, warmupSteps, startFactor);
    }

    static void checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("Steps count from 0; got " + step);
        }
    }
}
