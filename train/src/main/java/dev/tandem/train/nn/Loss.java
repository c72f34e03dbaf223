package dev.tandem.train.nn;

/**
 * A loss as a graph builder: appends the nodes computing a float32 scalar from a prediction and a target to the
 * prediction's trace. Implementations: {@link CrossEntropyLoss}, {@link NllLoss}, {@link MseLoss}.
 */
public interface Loss {
    /** How a per-sample loss is reduced to the scalar. */
    enum Reduction {
        MEAN, SUM;

        /** The attribute value ({@code "mean"}, {@code "sum"}). */
        public String attribute() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Emits the loss of {@code prediction} against {@code target} (a graph input of
     * {@link #declareTarget}'s type and shape) and returns it: a float32 scalar.
     *
     * @throws IllegalArgumentException when the shapes or types do not fit
     */
    Var emit(Var prediction, Var target);

    /**
     * Declares the target graph input {@code name} that fits {@code prediction} (a batch input: first dimension
     * symbolic): int64 class indices [N] for the classification losses, a float32 tensor of the prediction's
     * shape for MSE.
     */
    Var declareTarget(Var prediction, String name);
}
