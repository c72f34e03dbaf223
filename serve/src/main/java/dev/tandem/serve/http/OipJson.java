package dev.tandem.serve.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.serve.ServeException;
import dev.tandem.serve.batch.TensorData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The JSON of the Open Inference Protocol v2 (KServe, Triton): inference requests and responses with tensors as
 * {@code {"name", "shape", "datatype", "data"}}, data flat in row-major order (nested arrays are accepted and
 * flattened). Datatypes: BOOL, UINT8, INT8, INT32, INT64, FP32, FP64 — the element types Tandem runs.
 */
public final class OipJson {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build();
    static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    private OipJson() {
    }

    /** A parsed inference request. */
    public record InferRequest(String id, List<TensorData> inputs, Set<String> outputs) {
    }

    /** The protocol's name of an element type. */
    public static String datatype(DType t) {
        return switch (t) {
            case BOOL -> "BOOL";
            case UINT8 -> "UINT8";
            case INT8 -> "INT8";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
            case FLOAT32 -> "FP32";
            case FLOAT64 -> "FP64";
        };
    }

    static DType dtype(String datatype, String input) {
        return switch (datatype.toUpperCase(Locale.ROOT)) {
            case "BOOL" -> DType.BOOL;
            case "UINT8" -> DType.UINT8;
            case "INT8" -> DType.INT8;
            case "INT32" -> DType.INT32;
            case "INT64" -> DType.INT64;
            case "FP32" -> DType.FLOAT32;
            case "FP64" -> DType.FLOAT64;
            default -> throw bad("Input '" + input + "' has datatype '" + datatype
                    + "', which Tandem does not run; use BOOL, UINT8, INT8, INT32, INT64, FP32 or FP64");
        };
    }

    /**
     * Parses an inference request body.
     *
     * @throws ServeException 400 naming what is malformed
     */
    public static InferRequest parseInfer(byte[] body) {
        JsonNode root;
        try {
            root = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw bad("Malformed JSON: " + e.getOriginalMessage() + (at == null ? ""
                    : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw bad("Unreadable JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw bad("The request body must be a JSON object with \"inputs\"");
        }
        String id = null;
        if (root.has("id")) {
            if (!root.get("id").isTextual()) {
                throw bad("\"id\" must be a string");
            }
            id = root.get("id").asText();
        }
        JsonNode inputs = root.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
            throw bad("\"inputs\" must be a non-empty array of tensors {\"name\", \"shape\", \"datatype\", \"data\"}");
        }
        List<TensorData> tensors = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (JsonNode in : inputs) {
            TensorData t = tensor(in);
            if (!names.add(t.name())) {
                throw bad("Input '" + t.name() + "' is given twice");
            }
            tensors.add(t);
        }
        Set<String> outputs = null;
        JsonNode outs = root.get("outputs");
        if (outs != null && !outs.isNull()) {
            if (!outs.isArray()) {
                throw bad("\"outputs\" must be an array of {\"name\": ...}");
            }
            outputs = new LinkedHashSet<>();
            for (JsonNode o : outs) {
                JsonNode n = o.get("name");
                if (n == null || !n.isTextual()) {
                    throw bad("Each requested output needs a \"name\" string");
                }
                outputs.add(n.asText());
            }
        }
        return new InferRequest(id, tensors, outputs);
    }

    private static TensorData tensor(JsonNode in) {
        if (!in.isObject()) {
            throw bad("Each input must be an object {\"name\", \"shape\", \"datatype\", \"data\"}");
        }
        JsonNode nameNode = in.get("name");
        if (nameNode == null || !nameNode.isTextual()) {
            throw bad("Each input needs a \"name\" string");
        }
        String name = nameNode.asText();
        JsonNode typeNode = in.get("datatype");
        if (typeNode == null || !typeNode.isTextual()) {
            throw bad("Input '" + name + "' needs a \"datatype\" string (FP32, INT64, ...)");
        }
        DType dtype = dtype(typeNode.asText(), name);
        JsonNode shapeNode = in.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw bad("Input '" + name + "' needs a \"shape\" array of dimensions");
        }
        int[] dims = new int[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw bad("Input '" + name + "' shape " + shapeNode + ": every dimension must be an integer >= 0");
            }
            dims[i] = d.asInt();
            count *= dims[i];
            if (count > Integer.MAX_VALUE) {
                throw bad("Input '" + name + "' shape " + shapeNode + " is too large");
            }
        }
        JsonNode data = in.get("data");
        if (data == null || !(data.isArray() || data.isValueNode() && !data.isNull())) {
            throw bad("Input '" + name + "' needs \"data\": the " + count + " values of shape " + shapeNode
                    + " in row-major order");
        }
        List<JsonNode> flat = flatten(data, (int) count, name);
        if (flat.size() != count) {
            throw bad("Input '" + name + "' has " + flat.size() + " values but shape " + shapeNode + " holds " + count);
        }
        return new TensorData(name, dtype, Shape.of(dims), values(flat, dtype, name));
    }

    private static List<JsonNode> flatten(JsonNode data, int expected, String name) {
        List<JsonNode> flat = new ArrayList<>(Math.min(expected, 1 << 20));
        if (!data.isArray()) {
            flat.add(data);
            return flat;
        }
        Deque<Iterator<JsonNode>> stack = new ArrayDeque<>();
        stack.push(data.elements());
        while (!stack.isEmpty()) {
            Iterator<JsonNode> it = stack.peek();
            if (!it.hasNext()) {
                stack.pop();
                continue;
            }
            JsonNode n = it.next();
            if (n instanceof ArrayNode a) {
                stack.push(a.elements());
            } else {
                flat.add(n);
                if (flat.size() > expected) {
                    throw bad("Input '" + name + "' has more values than its shape holds (" + expected + ")");
                }
            }
        }
        return flat;
    }

    private static Object values(List<JsonNode> flat, DType dtype, String name) {
        int n = flat.size();
        switch (dtype) {
            case FLOAT32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) number(flat.get(i), name, i);
                }
                return f;
            }
            case FLOAT64 -> {
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    d[i] = number(flat.get(i), name, i);
                }
                return d;
            }
            case BOOL -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    JsonNode v = flat.get(i);
                    if (!v.isBoolean()) {
                        throw bad("Input '" + name + "' value " + i + " (" + v + ") is not true or false");
                    }
                    l[i] = v.asBoolean() ? 1 : 0;
                }
                return l;
            }
            default -> {
                long min = switch (dtype) {
                    case UINT8 -> 0;
                    case INT8 -> Byte.MIN_VALUE;
                    case INT32 -> Integer.MIN_VALUE;
                    default -> Long.MIN_VALUE;
                };
                long max = switch (dtype) {
                    case UINT8 -> 255;
                    case INT8 -> Byte.MAX_VALUE;
                    case INT32 -> Integer.MAX_VALUE;
                    default -> Long.MAX_VALUE;
                };
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    JsonNode v = flat.get(i);
                    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
                        throw bad("Input '" + name + "' value " + i + " (" + v + ") is not a "
                                + datatype(dtype) + " integer");
                    }
                    l[i] = v.asLong();
                }
                return l;
            }
        }
    }

    private static double number(JsonNode v, String name, int i) {
        if (!v.isNumber()) {
            throw bad("Input '" + name + "' value " + i + " (" + v + ") is not a number");
        }
        return v.asDouble();
    }

    // ---- writing

    /** The body of an inference response. */
    public static byte[] inferResponse(String model, long version, String id, List<TensorData> outputs) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("model_name", model);
            g.writeStringField("model_version", Long.toString(version));
            if (id != null) {
                g.writeStringField("id", id);
            }
            g.writeArrayFieldStart("outputs");
            for (TensorData t : outputs) {
                g.writeStartObject();
                g.writeStringField("name", t.name());
                g.writeStringField("datatype", datatype(t.dtype()));
                g.writeArrayFieldStart("shape");
                for (int d : t.shape().dims()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data");
                switch (t.data()) {
                    case float[] f -> {
                        for (float v : f) {
                            g.writeNumber(v);
                        }
                    }
                    case double[] d -> {
                        for (double v : d) {
                            g.writeNumber(v);
                        }
                    }
                    case long[] l when t.dtype() == DType.BOOL -> {
                        for (long v : l) {
                            g.writeBoolean(v != 0);
                        }
                    }
                    case long[] l -> {
                        for (long v : l) {
                            g.writeNumber(v);
                        }
                    }
                    default -> throw new IllegalStateException();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** Writes a tensor's declared type as protocol metadata: name, datatype, shape (-1 for symbolic). */
    static void ioMetadata(JsonGenerator g, Model.IoInfo io) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", io.name());
        TensorType t = io.type();
        g.writeStringField("datatype", t == null || t.dtype() == null ? "UNKNOWN" : datatype(t.dtype()));
        g.writeArrayFieldStart("shape");
        if (t != null && t.dims() != null) {
            for (long d : t.dims()) {
                g.writeNumber(d < 0 ? -1 : d);
            }
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** {@code {"error": message}}. */
    public static byte[] error(String message) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        });
    }

    /** Writes JSON with a generator. */
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static ServeException bad(String message) {
        return new ServeException(400, message);
    }
}
