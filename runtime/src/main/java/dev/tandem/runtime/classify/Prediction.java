package dev.tandem.runtime.classify;

/**
 * One class of a classification result.
 *
 * @param label       the class label (its index as text when the model has no labels)
 * @param index       the class index in the model's output
 * @param probability the class probability, in [0, 1]
 */
public record Prediction(String label, int index, double probability) {
}
