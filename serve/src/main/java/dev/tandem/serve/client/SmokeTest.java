package dev.tandem.serve.client;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A check a downloaded model must pass before {@link ModelUpdater} swaps it in; a model that fails it is rejected
 * and the version in use stays. Runs on the updater's thread, never concurrently with itself for one candidate.
 */
@FunctionalInterface
public interface SmokeTest {
    /**
     * Checks a candidate that has loaded.
     *
     * @throws Exception saying what is wrong: the candidate is rejected with that message
     */
    void check(Classifier candidate) throws Exception;

    /** This check, then {@code next}. */
    default SmokeTest and(SmokeTest next) {
        Objects.requireNonNull(next, "next");
        return c -> {
            check(c);
            next.check(c);
        };
    }

    /**
     * The default: one run on zeros (batch 1, symbolic dimensions 1); every output must have a shape its declared
     * type accepts and, for float32 outputs, only finite values; classifying a black image gives finite
     * probabilities.
     */
    static SmokeTest zeros() {
        return c -> {
            Model m = c.model();
            Map<String, Tensor> in = new LinkedHashMap<>();
            try {
                for (Model.IoInfo i : m.inputs()) {
                    TensorType t = i.type();
                    if (t == null || t.dims() == null || t.dtype() == null) {
                        throw new IllegalStateException("Input '" + i.name() + "' declares no type and shape");
                    }
                    in.put(i.name(), Tensor.allocate(t.dtype(), t.concrete(1)));
                }
                Map<String, Tensor> out = m.run(in);
                try {
                    for (Model.IoInfo o : m.outputs()) {
                        Tensor t = out.get(o.name());
                        if (t == null) {
                            throw new IllegalStateException("Output '" + o.name() + "' was not produced");
                        }
                        if (o.type() != null && o.type().dims() != null && !o.type().accepts(t.shape())) {
                            throw new IllegalStateException("Output '" + o.name() + "' has shape " + t.shape()
                                    + " on zeros; declared " + o.type().describe());
                        }
                        if (t.dtype() == DType.FLOAT32) {
                            float[] v = t.toFloatArray();
                            for (int k = 0; k < v.length; k++) {
                                if (!Float.isFinite(v[k])) {
                                    throw new IllegalStateException("Output '" + o.name() + "' holds " + v[k]
                                            + " at " + k + " on zeros");
                                }
                            }
                        }
                    }
                } finally {
                    out.values().forEach(Tensor::close);
                }
            } finally {
                in.values().forEach(Tensor::close);
            }
            List<Prediction> p = c.classify(new java.awt.image.BufferedImage(8, 8,
                    java.awt.image.BufferedImage.TYPE_INT_RGB));
            if (p.isEmpty() || !Double.isFinite(p.getFirst().probability())) {
                throw new IllegalStateException("Classifying a black image gave " + p);
            }
        };
    }

    /**
     * Classifies a known image (PNG, JPEG, BMP, GIF bytes): its top-1 label must be {@code expectedLabel} with at
     * least {@code minProbability}.
     */
    static SmokeTest knownImage(byte[] image, String expectedLabel, double minProbability) {
        byte[] copy = image.clone();
        Objects.requireNonNull(expectedLabel, "expectedLabel");
        return c -> {
            List<Prediction> p = c.classify(copy);
            if (p.isEmpty() || !p.getFirst().label().equals(expectedLabel)
                    || !(p.getFirst().probability() >= minProbability)) {
                throw new IllegalStateException("The known image is classified as " + (p.isEmpty() ? "nothing"
                        : p.getFirst()) + "; expected '" + expectedLabel + "' with probability >= " + minProbability);
            }
        };
    }
}
