package dev.tandem.runtime.classify;

import java.util.List;

/**
 * One classification result as a line of JSON, the format of {@code tandem predict}:
 * {@code {"file":"shoe.png","top":[{"label":"sneaker","index":7,"probability":0.93}, ...]}}. Characters outside
 * printable ASCII are written as {@code \\uXXXX} escapes, so the line is valid JSON in any console encoding; a
 * probability that is not a finite number (a model's own output can be NaN) is written as a string, {@code "NaN"},
 * {@code "Infinity"} or {@code "-Infinity"}, as Jackson writes it. Shared by the bundle's {@link PredictMain} and
 * the CLI's {@code tandem predict}, which print the same lines (and the CLI needs no JSON library for them).
 */
public final class PredictionJson {
    private PredictionJson() {
    }

    /** The line for one image: its file name as given and its top classes, best first. */
    public static String line(String file, List<Prediction> top) {
        StringBuilder sb = new StringBuilder("{\"file\":");
        string(sb, file);
        sb.append(",\"top\":[");
        for (int i = 0; i < top.size(); i++) {
            Prediction p = top.get(i);
            sb.append(i == 0 ? "{" : ",{").append("\"label\":");
            string(sb, p.label());
            sb.append(",\"index\":").append(p.index()).append(",\"probability\":");
            double v = p.probability();
            if (Double.isFinite(v)) {
                sb.append(v);
            } else {
                sb.append('"').append(v).append('"');
            }
            sb.append('}');
        }
        return sb.append("]}").toString();
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
