package dev.tandem.train;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.TraceMode;
import dev.tandem.train.nn.Traced;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a trained module as an ONNX model (opset 17, batch dimension symbolic, weights as initializers) that any
 * ONNX runtime runs, with the classifier contract of docs/model-metadata.md in {@code metadata_props}: labels,
 * preprocessing (size, channels, colour, scale 1/255, mean and std, stretch resize) and provenance
 * ({@code tandem.train.*}: data set and its SHA-256, recipe, final metrics, Tandem version). {@code tandem predict}
 * needs nothing else to classify images with it.
 */
public final class ModelExport {
    private ModelExport() {
    }

    /**
     * @param inputShape one sample's shape (C, H, W)
     * @param provenance extra {@code tandem.train.*} entries (values as written)
     */
    public static void write(Module module, int[] inputShape, List<String> labels, Normalize normalize,
                             Map<String, String> provenance, Path file) throws IOException {
        int[] dims = {1, inputShape[0], inputShape[1], inputShape[2]};
        try (Traced t = module.trace(TraceMode.EXPORT, dims)) {
            Graph g = t.graph();
            g.setName("tandem");
            g.setProducer("tandem");
            g.metadata().putAll(metadata(inputShape, labels, normalize));
            g.metadata().putAll(provenance);
            g.sort();
            OnnxWriter.write(g, file);
        }
    }

    /** The preprocessing and label keys for a model trained on [0,1]-scaled pixels normalised by {@code n}. */
    public static Map<String, String> metadata(int[] inputShape, List<String> labels, Normalize n) {
        Map<String, String> m = new LinkedHashMap<>();
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < labels.size(); i++) {
            json.append(i == 0 ? "" : ",").append('"').append(escape(labels.get(i))).append('"');
        }
        m.put("tandem.labels", json.append(']').toString());
        m.put("tandem.output", "logits");
        m.put("tandem.input.size", inputShape[1] + "," + inputShape[2]);
        m.put("tandem.input.channels", Integer.toString(inputShape[0]));
        m.put("tandem.input.layout", "NCHW");
        m.put("tandem.input.color", inputShape[0] == 1 ? "GRAY" : "RGB");
        m.put("tandem.input.scale", "1/255");
        m.put("tandem.input.mean", join(n.mean()));
        m.put("tandem.input.std", join(n.std()));
        m.put("tandem.input.resize", "stretch");
        return m;
    }

    private static String join(float[] v) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ",").append(v[i]);
        }
        return s.toString();
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    /** Provenance entries from a map of values (JSON-encoded when not strings). */
    static Map<String, String> provenance(Map<String, ?> values) {
        Map<String, String> m = new LinkedHashMap<>();
        values.forEach((k, v) -> m.put("tandem.train." + k, v instanceof String s ? s : Json.write(v)));
        return m;
    }
}
