package dev.tandem.train;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.ImageSpec;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.data.Dataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores an ONNX classifier on a labelled data set through the runtime, preprocessing each sample as the model's
 * metadata says (scale, mean, std, layout; docs/model-metadata.md): accuracy, per-class precision and recall,
 * and the confusion matrix.
 */
public final class ModelEvaluation {
    private ModelEvaluation() {
    }

    /**
     * What an evaluation found.
     *
     * @param confusion [true class][predicted class] counts
     */
    public record Report(int samples, double accuracy, List<String> labels, double[] precision, double[] recall,
                         long[][] confusion) {
        /** As plain maps and lists, for JSON. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("samples", samples);
            m.put("accuracy", accuracy);
            List<Map<String, Object>> per = new ArrayList<>();
            for (int i = 0; i < labels.size(); i++) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("label", labels.get(i));
                c.put("precision", Double.isNaN(precision[i]) ? null : precision[i]);
                c.put("recall", Double.isNaN(recall[i]) ? null : recall[i]);
                c.put("support", java.util.Arrays.stream(confusion[i]).sum());
                per.add(c);
            }
            m.put("classes", per);
            m.put("confusion", confusion);
            return m;
        }
    }

    /**
     * @throws IllegalArgumentException when the model's input size or class count does not fit the data
     */
    public static Report evaluate(Path modelFile, Dataset data, int threads) {
        try (Model model = Model.load(modelFile, Model.Options.defaults().withThreads(threads))) {
            ImageSpec spec = ImageSpec.of(model);
            if (spec.channels() != data.channels() || spec.height() != data.height()
                    || spec.width() != data.width()) {
                throw new IllegalArgumentException("The model takes " + spec.channels() + "×" + spec.height() + "×"
                        + spec.width() + " images; the data set has " + data.channels() + "×" + data.height() + "×"
                        + data.width());
            }
            String labelsJson = model.metadata().get(Classifier.LABELS);
            int classes = data.classes().size();
            Model.IoInfo in = model.inputs().get(0);
            long[] dims = in.type().dims();
            int declared = dims != null && dims.length > 0 && dims[0] > 0 ? (int) dims[0] : -1;
            int batch = declared > 0 ? declared : 64;
            int c = data.channels(), h = data.height(), w = data.width(), sample = c * h * w;
            double[] mean = spec.mean(), std = spec.std();
            boolean nhwc = spec.layout().equals("NHWC");
            long[][] confusion = new long[classes][classes];
            float[] x = new float[sample];
            float[] buf = new float[batch * sample];
            int[] labels = new int[batch];
            long correct = 0;
            for (int start = 0; start < data.size(); start += batch) {
                int n = Math.min(batch, data.size() - start);
                java.util.Arrays.fill(buf, 0f);
                for (int i = 0; i < n; i++) {
                    data.read(start + i, x, 0);
                    labels[i] = data.label(start + i);
                    for (int ch = 0; ch < c; ch++) {
                        for (int p = 0; p < h * w; p++) {
                            double v = (x[ch * h * w + p] * 255.0 * spec.scale() - mean[ch]) / std[ch];
                            int at = nhwc ? p * c + ch : ch * h * w + p;
                            buf[i * sample + at] = (float) v;
                        }
                    }
                }
                int rows = declared > 0 ? batch : n;
                Shape s = nhwc ? Shape.of(rows, h, w, c) : Shape.of(rows, c, h, w);
                try (Tensor t = Tensor.allocate(DType.FLOAT32, s)) {
                    t.copyFrom(java.util.Arrays.copyOf(buf, rows * sample));
                    try (Tensor out = model.run(t)) {
                        float[] scores = out.toFloatArray();
                        int k = scores.length / rows;
                        if (k != classes) {
                            throw new IllegalArgumentException("The model has " + k + " outputs per image; the data set "
                                    + "has " + classes + " classes");
                        }
                        for (int i = 0; i < n; i++) {
                            int best = 0;
                            for (int j = 1; j < k; j++) {
                                best = scores[i * k + j] > scores[i * k + best] ? j : best;
                            }
                            confusion[labels[i]][best]++;
                            correct += best == labels[i] ? 1 : 0;
                        }
                    }
                }
            }
            double[] precision = new double[classes], recall = new double[classes];
            for (int j = 0; j < classes; j++) {
                long tp = confusion[j][j], predicted = 0, actual = 0;
                for (int i = 0; i < classes; i++) {
                    predicted += confusion[i][j];
                    actual += confusion[j][i];
                }
                precision[j] = predicted == 0 ? Double.NaN : tp / (double) predicted;
                recall[j] = actual == 0 ? Double.NaN : tp / (double) actual;
            }
            List<String> names = data.classes();
            if (labelsJson != null) {
                try {
                    names = List.of(new com.fasterxml.jackson.databind.ObjectMapper().readValue(labelsJson,
                            String[].class));
                } catch (java.io.IOException e) {
                    names = data.classes();
                }
            }
            return new Report(data.size(), data.size() == 0 ? Double.NaN : correct / (double) data.size(), names,
                    precision, recall, confusion);
        }
    }
}
