package dev.tandem.train.optim;

/**
 * Cosine annealing, PyTorch's {@code CosineAnnealingLR} (T_max = {@code totalSteps}, eta_min = {@code minLr}):
 * {@code minLr + (lr - minLr)·(1 + cos(π·step/totalSteps))/2}. Past {@code totalSteps} the rate stays at
 * {@code minLr} (PyTorch's would rise again along the cosine).
 */
public record CosineLr(double lr, long totalSteps, double minLr) implements LrSchedule {
    public CosineLr {
        if (!(lr >= 0) || totalSteps < 1 || !(minLr >= 0)) {
            throw new IllegalArgumentException("CosineLr: lr >= 0, total steps >= 1 and min lr >= 0; got " + lr
                    + ", " + totalSteps + ", " + minLr);
        }
    }

    @Override
    public double lr(long step) {
        LrSchedule.checkStep(step);
        double t = Math.min(step, totalSteps);
        return minLr + (lr - minLr) * (1 + Math.cos(Math.PI * t / totalSteps)) / 2;
    }
}
