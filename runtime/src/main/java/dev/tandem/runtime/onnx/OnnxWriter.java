package dev.tandem.runtime.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.tandem.runtime.ModelTooLargeException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a {@link Graph} as an ONNX model: nodes in the graph's order, declared input and output types (symbolic
 * dimensions as {@code dim_param}), every constant a node or output reads as an initializer, attributes, opset
 * imports (a domain a node uses without an import, such as {@code dev.tandem}, gets version 1),
 * {@code metadata_props}, producer and doc string. Tensors are written as little-endian {@code raw_data}.
 *
 * <p>The IR version is the lowest one the default-domain opset needs (8 up to opset 18, so opset 17 exports load
 * in ONNX Runtime 1.x), or the graph's own when that is higher. A graph read by {@link OnnxReader} and written
 * again keeps its node, value and input/output names and its empty optional outputs.
 *
 * <p>What is refused, before anything is written: models over 2 GiB ({@link ModelTooLargeException}: Tandem does
 * not write external data); attributes Tandem's graph keeps only by name (subgraphs of If/Loop/Scan, sparse
 * tensors, type protos) and non-tensor inputs or outputs ({@link UnsupportedModelException}); a graph that is not
 * well formed ({@link IllegalArgumentException}: no default-domain opset while using its ops, an input or output
 * without a declared type, nodes out of topological order, a value read but never produced).
 *
 * <p>The graph is only read, and must not be mutated or closed while it is written.
 */
public final class OnnxWriter {
    /** The largest file written: what protobuf can encode, and what {@link OnnxReader} reads. */
    static final long MAX_BYTES = Integer.MAX_VALUE - 8;
    /** The producer written for graphs that name none (built in code or by the trainer). */
    public static final String PRODUCER = "tandem";

    private OnnxWriter() {
    }

    /** The model as ONNX protobuf bytes. */
    public static byte[] toBytes(Graph graph) {
        return toBytes(graph, MAX_BYTES);
    }

    static byte[] toBytes(Graph graph, long limit) {
        return toProto(graph, limit).toByteArray();
    }

    /**
     * Writes the model to {@code file} atomically: to a temporary file in the same folder, forced to disk, then
     * renamed over {@code file}. Readers of {@code file} see the old model or the new one, never a part.
     *
     * @throws IOException when writing fails (folder missing or read-only, disk full, {@code file} is a folder);
     *                     an existing {@code file} is then untouched and no temporary file is left
     */
    public static void write(Graph graph, Path file) throws IOException {
        write(graph, file, MAX_BYTES);
    }

    static void write(Graph graph, Path file, long limit) throws IOException {
        ModelProto model = toProto(graph, limit);
        AtomicFile.write(file, model::writeTo);
    }

    /**
     * The model as a protobuf message. Its tensors' bytes alias the graph's constants (no copy), so the message
     * must not outlive the graph; hence not public.
     */
    static ModelProto toProto(Graph graph, long limit) {
        Set<Value> constants = checkAndCollectConstants(graph);
        checkTensorBytes(graph, constants, limit);

        Map<String, Integer> opsets = opsetImports(graph);
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(Math.max(irVersionFor(opsets.getOrDefault("", 1)), graph.irVersion()));
        opsets.forEach((domain, version) -> m.addOpsetImport(
                OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version)));
        if (graph.producerName().isEmpty()) {
            m.setProducerName(PRODUCER);
            String version = OnnxWriter.class.getPackage().getImplementationVersion();
            if (version != null) {
                m.setProducerVersion(version);
            }
        } else {
            m.setProducerName(graph.producerName()).setProducerVersion(graph.producerVersion());
        }
        if (!graph.docString().isEmpty()) {
            m.setDocString(graph.docString());
        }
        graph.metadata().forEach((k, v) -> m.addMetadataProps(
                StringStringEntryProto.newBuilder().setKey(k).setValue(v == null ? "" : v)));
        m.setGraph(graphProto(graph, constants));

        ModelProto model = m.build();
        int size = model.getSerializedSize();   // negative when the int sum overflowed
        if (size < 0 || size > limit) {
            throw tooLarge(size < 0 ? (1L << 31) : size, limit);
        }
        return model;
    }

    private static GraphProto graphProto(Graph graph, Set<Value> constants) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(graph.name().isEmpty() ? "tandem" : graph.name());
        for (Value c : constants) {
            g.addInitializer(tensor(c.name(), c.constant(), "constant '" + c.name() + "'"));
        }
        for (Value in : graph.inputs()) {
            g.addInput(valueInfo(in, "Graph input"));
        }
        for (Value out : graph.outputs()) {
            g.addOutput(valueInfo(out, "Graph output"));
        }
        Map<Value, List<Node>> readers = graph.consumers();
        Set<Value> outputs = Collections.newSetFromMap(new IdentityHashMap<>());
        outputs.addAll(graph.outputs());
        for (Node n : graph.nodes()) {
            g.addNode(nodeProto(n, readers, outputs));
            for (Value v : n.outputs()) {
                // Types declared on intermediate values are hints for other tools; write the well-formed ones.
                if (!outputs.contains(v) && v.declared() != null && elemType(v.declared()) > 0) {
                    g.addValueInfo(valueInfo(v, "Value"));
                }
            }
        }
        return g.build();
    }

    private static NodeProto nodeProto(Node n, Map<Value, List<Node>> readers, Set<Value> graphOutputs) {
        NodeProto.Builder b = NodeProto.newBuilder().setName(n.name()).setOpType(n.opType()).setDomain(n.domain());
        for (Value in : n.inputs()) {
            b.addInput(in == null ? "" : in.name());
        }
        for (Value out : n.outputs()) {
            boolean unnamed = OnnxReader.isUnnamedOutput(n, out) && !graphOutputs.contains(out)
                    && readers.getOrDefault(out, List.of()).isEmpty();
            b.addOutput(unnamed ? "" : out.name());
        }
        for (Map.Entry<String, Attribute> e : n.attributes().entrySet()) {
            b.addAttribute(attribute(n, e.getKey(), e.getValue()));
        }
        return b.build();
    }

    private static AttributeProto attribute(Node n, String name, Attribute a) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name);
        Object v = a.value();
        try {
            switch (a.kind()) {
                case FLOAT -> b.setType(AttributeProto.AttributeType.FLOAT).setF(((Number) v).floatValue());
                case INT -> b.setType(AttributeProto.AttributeType.INT).setI(((Number) v).longValue());
                case STRING -> b.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8((String) v));
                case TENSOR -> b.setType(AttributeProto.AttributeType.TENSOR)
                        .setT(tensor("", (Tensor) v, "attribute '" + name + "' of node " + n.describe()));
                case FLOATS -> {
                    b.setType(AttributeProto.AttributeType.FLOATS);
                    for (float f : (float[]) v) {
                        b.addFloats(f);
                    }
                }
                case INTS -> {
                    b.setType(AttributeProto.AttributeType.INTS);
                    for (long i : (long[]) v) {
                        b.addInts(i);
                    }
                }
                case STRINGS -> {
                    b.setType(AttributeProto.AttributeType.STRINGS);
                    for (String s : (String[]) v) {
                        b.addStrings(ByteString.copyFromUtf8(s));
                    }
                }
                case OTHER -> throw new UnsupportedModelException("Cannot write attribute '" + name + "' of node "
                        + n.describe() + ": it is a graph, sparse tensor or type, which Tandem's graph keeps only"
                        + " by name (models with If, Loop or Scan cannot be written)");
            }
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("Attribute '" + name + "' of node " + n.describe() + " is of kind "
                    + a.kind() + " but holds " + (v == null ? "null" : v.getClass().getSimpleName()), e);
        }
        return b.build();
    }

    /** A tensor as raw data; the bytes alias the tensor's memory when it is contiguous. */
    private static TensorProto tensor(String name, Tensor t, String what) {
        if (t.isClosed()) {
            throw new IllegalStateException("Cannot write " + what + ": its tensor is closed (a Model frees the graph's "
                    + "copy of the weights its convolutions and Gemms packed; load it with Model.Options.withKeepWeights(true) "
                    + "to write its graph)");
        }
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.dtype().onnxCode());
        if (!name.isEmpty()) {
            b.setName(name);
        }
        for (int d : t.shape().dims()) {
            b.addDims(d);
        }
        long bytes = t.size() * t.dtype().byteSize();
        if (t.isContiguous()) {
            // Tensors hold their elements little-endian (see DType), which is ONNX's raw_data order.
            long start = t.offset() * t.dtype().byteSize();
            b.setRawData(UnsafeByteOperations.unsafeWrap(t.segment().asSlice(start, bytes).asByteBuffer()));
        } else {
            try (Tensor c = t.contiguous()) {
                byte[] raw = c.segment().asSlice(c.offset() * t.dtype().byteSize(), bytes)
                        .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                b.setRawData(UnsafeByteOperations.unsafeWrap(raw));
            }
        }
        return b.build();
    }

    private static ValueInfoProto valueInfo(Value v, String role) {
        TensorType t = v.declared();
        if (t == null) {
            throw new IllegalArgumentException(role + " '" + v.name() + "' has no declared type; ONNX requires one"
                    + " (Value.setDeclared)");
        }
        if (t.onnxType() < 0 && t.dtype() == null) {
            throw new UnsupportedModelException(role + " '" + v.name() + "' is a sequence, map or optional, whose"
                    + " type Tandem's graph does not keep; it cannot be written");
        }
        int elem = elemType(t);
        if (elem <= 0) {
            throw new IllegalArgumentException(role + " '" + v.name() + "' declares no element type");
        }
        TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder().setElemType(elem);
        if (t.dims() != null) {
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (int i = 0; i < t.dims().length; i++) {
                TensorShapeProto.Dimension.Builder d = TensorShapeProto.Dimension.newBuilder();
                String param = t.dimNames() != null && i < t.dimNames().length ? t.dimNames()[i] : null;
                if (t.dims()[i] >= 0) {
                    d.setDimValue(t.dims()[i]);
                } else if (param != null && !param.isEmpty()) {
                    d.setDimParam(param);
                }
                // else: an unknown, unnamed dimension, written as an empty Dimension
                shape.addDim(d);
            }
            tt.setShape(shape);
        }
        return ValueInfoProto.newBuilder().setName(v.name())
                .setType(TypeProto.newBuilder().setTensorType(tt)).build();
    }

    private static int elemType(TensorType t) {
        return t.dtype() != null ? t.dtype().onnxCode() : t.onnxType();
    }

    /**
     * Checks that every value a node reads is a graph input, a constant or an earlier node's output, and that
     * graph outputs are computed; returns the constants read, in order of first use (the initializers).
     */
    private static Set<Value> checkAndCollectConstants(Graph graph) {
        Set<Value> constants = new LinkedHashSet<>();
        Set<Value> available = Collections.newSetFromMap(new IdentityHashMap<>());
        available.addAll(graph.inputs());
        for (Value in : graph.inputs()) {
            if (in.isConstant()) {
                constants.add(in);   // an input with a default value: ONNX writes it as an initializer too
            }
        }
        Set<Value> producedLater = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node n : graph.nodes()) {
            producedLater.addAll(n.outputs());
        }
        for (Node n : graph.nodes()) {
            for (Value in : n.inputs()) {
                if (in == null || available.contains(in)) {
                    continue;
                }
                if (in.isConstant()) {
                    constants.add(in);
                    available.add(in);
                } else if (producedLater.contains(in)) {
                    throw new IllegalArgumentException("Node " + n.describe() + " reads '" + in.name()
                            + "' before the node computing it; ONNX needs nodes in topological order"
                            + " (call Graph.sort() first)");
                } else {
                    throw new IllegalArgumentException("Node " + n.describe() + " reads '" + in.name()
                            + "', which is not a graph input, a constant or any node's output");
                }
            }
            for (Value out : n.outputs()) {
                if (!available.add(out)) {
                    throw new IllegalArgumentException("Node " + n.describe() + " writes '" + out.name()
                            + "', which is already a graph input, a constant or another node's output");
                }
            }
        }
        for (Value out : graph.outputs()) {
            if (out.isConstant() && !available.contains(out)) {
                constants.add(out);
                available.add(out);
            }
            if (!available.contains(out)) {
                throw new IllegalArgumentException("Graph output '" + out.name() + "' is not computed by any node");
            }
        }
        return constants;
    }

    /** Refuses before building anything when the tensors alone exceed the limit. */
    private static void checkTensorBytes(Graph graph, Set<Value> constants, long limit) {
        long total = 0;
        for (Value c : constants) {
            total += c.constant().size() * c.constant().dtype().byteSize();
        }
        for (Node n : graph.nodes()) {
            for (Attribute a : n.attributes().values()) {
                if (a.value() instanceof Tensor t) {
                    total += t.size() * t.dtype().byteSize();
                }
            }
        }
        if (total > limit) {
            throw tooLarge(total, limit);
        }
    }

    private static ModelTooLargeException tooLarge(long bytes, long limit) {
        return new ModelTooLargeException("The model needs " + (bytes == (1L << 31) ? "over 2 GiB" : bytes + " bytes")
                + "; one ONNX file holds at most " + limit + " bytes (protobuf's 2 GiB limit), and Tandem does not"
                + " write weights to external data files", bytes, limit);
    }

    /** The imports to write: the graph's, plus version 1 of every other domain a node uses. */
    private static Map<String, Integer> opsetImports(Graph graph) {
        Map<String, Integer> out = new LinkedHashMap<>();
        graph.opsets().forEach((d, v) -> out.put(d.equals("ai.onnx") ? "" : d, v));
        for (Node n : graph.nodes()) {
            if (n.domain().isEmpty()) {
                if (!out.containsKey("")) {
                    throw new IllegalArgumentException("Node " + n.describe() + " is in the default ONNX domain,"
                            + " but the graph imports no version of it (graph.opsets().put(\"\", 17))");
                }
            } else {
                out.putIfAbsent(n.domain(), 1);
            }
        }
        return out;
    }

    /**
     * The lowest IR version that may carry {@code opset} of the default domain (the ONNX release table), never
     * below 8: IR 4 stopped requiring initializers to be listed as graph inputs, and 8 is what ONNX Runtime and
     * PyTorch write for opsets up to 18.
     */
    static long irVersionFor(int opset) {
        if (opset <= 18) {
            return 8;
        } else if (opset <= 20) {
            return 9;
        } else if (opset <= 22) {
            return 10;
        }
        return 11;
    }
}
