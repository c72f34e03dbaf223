package dev.tandem.train.optim;

/** The same rate at every step. */
public record ConstantLr(double lr) implements LrSchedule {
    public ConstantLr {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("Learning rate must be finite and >= 0; got " + lr);
        }
    }

    @Override
    public double lr(long step) {
        LrSchedule.checkStep(step);
        return lr;
    }
}
