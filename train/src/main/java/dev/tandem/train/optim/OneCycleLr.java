package dev.tandem.train.optim;

/**
 * PyTorch's {@code OneCycleLR} with cosine annealing (learning rate only; PyTorch also cycles the momentum by
 * default, which this schedule does not). With {@code initial = maxLr/divFactor} and
 * {@code min = initial/finalDivFactor}: phase 1 anneals initial → maxLr over steps {@code 0 …
 * pctStart·totalSteps - 1}, phase 2 maxLr → min until step {@code totalSteps - 1}. With {@code threePhase}:
 * initial → max, max → initial (until {@code 2·pctStart·totalSteps - 2}), initial → min. Each phase anneals by
 * {@code end + (start - end)/2·(1 + cos(π·pct))}. Steps past {@code totalSteps} are an error, as in PyTorch.
 */
public record OneCycleLr(double maxLr, long totalSteps, double pctStart, double divFactor, double finalDivFactor,
                         boolean threePhase) implements LrSchedule {
    public OneCycleLr {
        if (!(maxLr >= 0) || totalSteps < 1 || !(pctStart >= 0 && pctStart <= 1) || !(divFactor > 0)
                || !(finalDivFactor > 0)) {
            throw new IllegalArgumentException("OneCycleLr: max lr >= 0, total steps >= 1, pct_start in [0, 1], "
                    + "positive factors; got " + maxLr + ", " + totalSteps + ", " + pctStart + ", " + divFactor
                    + ", " + finalDivFactor);
        }
    }

    @Override
    public double lr(long step) {
        LrSchedule.checkStep(step);
        if (step > totalSteps) {
            throw new IllegalArgumentException("OneCycleLr: step " + step + " is past the schedule's "
                    + totalSteps + " steps");
        }
        double initial = maxLr / divFactor;
        double min = initial / finalDivFactor;
        double[][] phases = threePhase
                ? new double[][]{{pctStart * totalSteps - 1, initial, maxLr},
                        {2 * pctStart * totalSteps - 2, maxLr, initial}, {totalSteps - 1, initial, min}}
                : new double[][]{{pctStart * totalSteps - 1, initial, maxLr}, {totalSteps - 1, maxLr, min}};
        double start = 0;
        for (int i = 0; i < phases.length; i++) {
            double end = phases[i][0];
            if (step <= end || i == phases.length - 1) {
                // A phase shorter than one step (tiny runs) sits at its end value rather than dividing by zero.
                double pct = end - start <= 0 ? 1 : (step - start) / (end - start);
                return anneal(phases[i][1], phases[i][2], pct);
            }
            start = end;
        }
        throw new AssertionError();
    }

    /**
     * PyTorch's cycled momentum ({@code cycle_momentum=True}, its default) at {@code step}: {@code max → base}
     * while the rate rises, {@code base → max} while it falls (three-phase: then stays at max), with the same
     * cosine annealing and phase boundaries as {@link #lr}.
     */
    public double momentum(long step, double base, double max) {
        LrSchedule.checkStep(step);
        double[][] phases = threePhase
                ? new double[][]{{pctStart * totalSteps - 1, max, base}, {2 * pctStart * totalSteps - 2, base, max},
                        {totalSteps - 1, max, max}}
                : new double[][]{{pctStart * totalSteps - 1, max, base}, {totalSteps - 1, base, max}};
        double start = 0;
        for (int i = 0; i < phases.length; i++) {
            double end = phases[i][0];
            if (step <= end || i == phases.length - 1) {
                double pct = end - start <= 0 ? 1 : (step - start) / (end - start);
                return anneal(phases[i][1], phases[i][2], pct);
            }
            start = end;
        }
        throw new AssertionError();
    }

    private static double anneal(double start, double end, double pct) {
        return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
    }
}
