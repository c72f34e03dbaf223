package dev.tandem.train.optim;

/** {@code lr · gamma^⌊step / stepSize⌋}, as PyTorch's {@code StepLR} (decay every {@code stepSize} steps). */
public record StepLr(double lr, long stepSize, double gamma) implements LrSchedule {
    public StepLr {
        if (!(lr >= 0) || stepSize < 1 || !(gamma > 0)) {
            throw new IllegalArgumentException("StepLr: lr >= 0, step size >= 1 and gamma > 0; got " + lr + ", "
                    + stepSize + ", " + gamma);
        }
    }

    @Override
    public double lr(long step) {
        LrSchedule.checkStep(step);
        return lr * Math.pow(gamma, step / stepSize);
    }
}
