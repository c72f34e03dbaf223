package dev.tandem.train.nn;

/**
 * Dropout with probability {@code p}, as {@code torch.nn.Dropout}: in a TRAIN trace, while
 * {@link #isTraining()}, {@code dev.tandem.DropoutTrain} (kept elements scaled by {@code 1/(1-p)}, mask drawn
 * from the graph's dropout seed input); otherwise nothing is emitted.
 */
public final class Dropout extends Module {
    private final double p;

    /** p = 0.5. */
    public Dropout() {
        this(0.5);
    }

    /**
     * @throws IllegalArgumentException when p is not in [0, 1)
     */
    public Dropout(double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("Dropout probability must be in [0, 1); got " + p);
        }
        this.p = p;
    }

    public double p() {
        return p;
    }

    @Override
    public Var forward(Var x) {
        return Functional.dropout(x, p, x.tracer().training() && isTraining());
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
