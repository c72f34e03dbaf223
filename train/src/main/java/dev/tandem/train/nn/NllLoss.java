package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Negative log-likelihood with mean reduction (weighted mean with class weights, as PyTorch's
 * {@code nll_loss}) from standard ONNX ops: {@code LogSoftmax} (axis 1, unless the prediction already holds
 * log-probabilities) then {@code NegativeLogLikelihoodLoss}. On logits this equals cross-entropy without
 * smoothing. Immutable.
 */
public final class NllLoss implements Loss {
    private final float[] classWeights;
    private final boolean onLogits;

    private NllLoss(float[] classWeights, boolean onLogits) {
        this.classWeights = checkWeights(classWeights);
        this.onLogits = onLogits;
    }

    /** NLL of {@code log_softmax(logits)}; {@code classWeights} may be null. */
    public static NllLoss onLogits(float[] classWeights) {
        return new NllLoss(classWeights, true);
    }

    /** NLL of a prediction that already holds log-probabilities (PyTorch's {@code NLLLoss}). */
    public static NllLoss onLogProbabilities(float[] classWeights) {
        return new NllLoss(classWeights, false);
    }

    @Override
    public Var emit(Var prediction, Var labels) {
        checkClassification("NllLoss", prediction, labels, classWeights);
        Tracer t = prediction.tracer();
        Var logp = onLogits ? Functional.logSoftmax(prediction, 1) : prediction;
        List<Var> in = new ArrayList<>(List.of(logp, labels));
        if (classWeights != null) {
            in.add(t.constant("class_weights", classWeights, classWeights.length));
        }
        return t.emit("NegativeLogLikelihoodLoss", in,
                Functional.attrs(Attribute.of("reduction", Reduction.MEAN.attribute())), DType.FLOAT32,
                Shape.scalar());
    }

    @Override
    public Var declareTarget(Var prediction, String name) {
        return prediction.tracer().batchInput(name, DType.INT64, prediction.dim(0));
    }

    static float[] checkWeights(float[] w) {
        if (w == null) {
            return null;
        }
        for (float f : w) {
            if (!(f >= 0) || Float.isInfinite(f)) {
                throw new IllegalArgumentException("Class weights must be finite and non-negative; got " + f);
            }
        }
        return w.clone();
    }

    static void checkClassification(String loss, Var logits, Var labels, float[] weights) {
        if (logits.rank() != 2 || logits.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(loss + ": prediction must be float32 [N, C]; got " + logits);
        }
        if (labels.rank() != 1 || labels.dtype() != DType.INT64 || labels.dim(0) != logits.dim(0)) {
            throw new IllegalArgumentException(loss + ": labels must be int64 [" + logits.dim(0) + "]; got "
                    + labels);
        }
        if (weights != null && weights.length != logits.dim(1)) {
            throw new IllegalArgumentException(loss + ": " + weights.length + " class weights for " + logits.dim(1)
                    + " classes");
        }
    }
}
