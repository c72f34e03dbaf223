package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.Tracer.Out;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch's {@code cross_entropy} on logits [N, C] and int64 class indices [N], with optional label smoothing
 * and class weights, as one {@code dev.tandem.SoftmaxCrossEntropy} node (outputs the loss and the log-softmax;
 * attributes {@code label_smoothing}, {@code reduction}). Class weights become a float32 [C] constant (third
 * input). Immutable.
 */
public final class CrossEntropyLoss implements Loss {
    private final double labelSmoothing;
    private final float[] classWeights;
    private final Reduction reduction;

    /** No smoothing, no weights, mean reduction. */
    public CrossEntropyLoss() {
        this(0, null, Reduction.MEAN);
    }

    /**
     * @param labelSmoothing in [0, 1]
     * @param classWeights   per-class weights (non-negative), or null
     * @throws IllegalArgumentException for a smoothing outside [0, 1] or a negative or non-finite weight
     */
    public CrossEntropyLoss(double labelSmoothing, float[] classWeights, Reduction reduction) {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw new IllegalArgumentException("Label smoothing must be in [0, 1]; got " + labelSmoothing);
        }
        this.labelSmoothing = labelSmoothing;
        this.classWeights = NllLoss.checkWeights(classWeights);
        this.reduction = java.util.Objects.requireNonNull(reduction, "reduction");
    }

    public CrossEntropyLoss withLabelSmoothing(double s) {
        return new CrossEntropyLoss(s, classWeights, reduction);
    }

    public CrossEntropyLoss withClassWeights(float[] w) {
        return new CrossEntropyLoss(labelSmoothing, w, reduction);
    }

    public CrossEntropyLoss withReduction(Reduction r) {
        return new CrossEntropyLoss(labelSmoothing, classWeights, r);
    }

    public double labelSmoothing() {
        return labelSmoothing;
    }

    @Override
    public Var emit(Var logits, Var labels) {
        NllLoss.checkClassification("CrossEntropyLoss", logits, labels, classWeights);
        Tracer t = logits.tracer();
        List<Var> in = new ArrayList<>(List.of(logits, labels));
        if (classWeights != null) {
            in.add(t.constant("class_weights", classWeights, classWeights.length));
        }
        return t.emit("SoftmaxCrossEntropy", Node.TANDEM_DOMAIN, in,
                Functional.attrs(Attribute.of("label_smoothing", (float) labelSmoothing),
                        Attribute.of("reduction", reduction.attribute())),
                new Out(DType.FLOAT32, Shape.scalar()), Out.f32(logits.shape())).getFirst();
    }

    @Override
    public Var declareTarget(Var prediction, String name) {
        return prediction.tracer().batchInput(name, DType.INT64, prediction.dim(0));
    }
}
