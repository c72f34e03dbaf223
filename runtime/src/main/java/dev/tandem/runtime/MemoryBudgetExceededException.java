package dev.tandem.runtime;

/**
 * A model refused because it needs more memory than the budget it was given ({@link Model.Options#maxMemory()}):
 * its weights, plus the arena one run plans for the inputs in question. Raised before the arena is allocated, so
 * nothing of the refused size was taken. The numbers let a caller report or retry (a smaller batch, a quantized
 * model, a larger budget).
 */
public class MemoryBudgetExceededException extends ModelException {
    private final long weightBytes;
    private final long arenaBytes;
    private final long budget;

    public MemoryBudgetExceededException(String message, long weightBytes, long arenaBytes, long budget) {
        super(message);
        this.weightBytes = weightBytes;
        this.arenaBytes = arenaBytes;
        this.budget = budget;
    }

    /** Bytes needed: {@link #weightBytes()} + {@link #arenaBytes()}. */
    public long needed() {
        return weightBytes + arenaBytes;
    }

    /** Bytes of the model's weights and other constants. */
    public long weightBytes() {
        return weightBytes;
    }

    /** Bytes of one run's planned arena for the inputs in question; 0 when the weights alone exceed the budget. */
    public long arenaBytes() {
        return arenaBytes;
    }

    /** The budget in bytes. */
    public long budget() {
        return budget;
    }
}
