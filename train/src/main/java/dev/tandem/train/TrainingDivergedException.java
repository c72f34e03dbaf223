package dev.tandem.train;

/**
 * Training stopped because the loss or the gradients stopped being finite numbers. The parameters were not
 * updated with the bad step; the run folder's last checkpoint (from the end of the previous epoch) still loads,
 * and {@code --resume} continues from it (usually with a lower learning rate).
 */
public final class TrainingDivergedException extends RuntimeException {
    public TrainingDivergedException(String message, Throwable cause) {
        super(message, cause);
    }
}
