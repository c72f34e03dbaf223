package dev.tandem.train.report;

/**
 * What one epoch of training measured. Losses are means over the epoch's samples, accuracies fractions in [0, 1];
 * {@code Double.NaN} marks a value that was not measured (for example no test set, or no evaluation this epoch).
 *
 * @param epoch 1-based
 * @param testLoss the loss on the held-out (validation or test) set
 * @param learningRate the learning rate at the end of the epoch
 * @param seconds wall time of the epoch, evaluation included
 * @param imagesPerSecond training throughput (evaluation excluded)
 */
public record EpochMetrics(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
                           double learningRate, double seconds, double imagesPerSecond) {
    public EpochMetrics {
        if (epoch < 1) {
            throw new IllegalArgumentException("Epochs count from 1, got " + epoch);
        }
    }
}
