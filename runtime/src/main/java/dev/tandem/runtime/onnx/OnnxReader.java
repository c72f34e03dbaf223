package dev.tandem.runtime.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.tandem.runtime.ModelFormatException;
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
import dev.tandem.runtime.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an ONNX model (IR version 3 and later) into a {@link Graph}: initializers inline or as external data,
 * declared input and output types, opset imports and {@code metadata_props}.
 *
 * <p>Model files are untrusted: anything malformed becomes a {@link ModelFormatException} with a precise
 * message; nothing is allocated for a declared size before the bytes behind it are known to be there.
 */
public final class OnnxReader {
    /** Protobuf cannot address more; bigger models keep their weights in external data files. */
    private static final long MAX_FILE = Integer.MAX_VALUE - 8;
    private static final int MAX_NESTING = 64;
    /** Infix of the private values that stand for empty ("not requested") node output names. */
    private static final String UNNAMED_OUTPUT = "_unused";

    private OnnxReader() {
    }

    /**
     * Reads a model file; external data is looked up next to it. The file is memory-mapped and parsed in place
     * (tensor bytes are copied once, from the mapping into the graph's tensors: {@link #parseMapped}), then
     * unmapped. While the tensors are copied, the mapping's pages are dropped from memory every
     * {@link #RELEASE_EVERY} bytes ({@code MemorySegment.unload}): otherwise the file's pages and their copies are
     * all resident at once, and loading peaked at twice the weights (ResNet-18: docs/benchmarks.md).
     */
    public static Graph read(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                     java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE) {
                throw new ModelFormatException("'" + file + "' is " + size
                        + " bytes; models over 2 GiB must keep their weights in external data files");
            }
            if (size == 0) {
                throw new ModelFormatException("'" + file + "' is empty (0 bytes)");
            }
            java.lang.foreign.MemorySegment mapped = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0,
                    size, arena);
            RawDataSplitter.Split model = parseMapped(mapped.asByteBuffer());
            long[] copied = {0};
            return toGraph(model.model(), dir, model.raw(), bytes -> {
                copied[0] += bytes;
                if (copied[0] >= RELEASE_EVERY) {
                    copied[0] = 0;
                    // read-only mapping: dropped pages are read again from the file if touched
                    mapped.unload();
                }
            });
        } catch (NoSuchFileException e) {
            throw new ModelFormatException("Model file not found: " + file);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new ModelFormatException("Cannot read model file '" + file + "': permission denied");
        } catch (IOException e) {
            if (Files.isDirectory(file)) {
                throw new ModelFormatException("'" + file + "' is a folder, not an ONNX model file");
            }
            throw new ModelFormatException("Cannot read model file '" + file + "': " + e.getMessage(), e);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a model from bytes.
     *
     * @param baseDir the folder external data is read from, or null to refuse external data
     */
    public static Graph read(byte[] bytes, Path baseDir) {
        ModelProto model = parse(bytes);
        return toGraph(model, baseDir);
    }

    /** Parses the protobuf, turning every parse failure into a ModelFormatException. */
    public static ModelProto parse(byte[] bytes) {
        if (bytes.length == 0) {
            throw new ModelFormatException("The model is empty (0 bytes)");
        }
        return parse(CodedInputStream.newInstance(bytes), bytes.length);
    }

    /**
     * Parses a mapped file: with the initializers' raw data as views of the mapping ({@link RawDataSplitter}: no heap
     * copy of the weights), or, for what the splitter does not accept or a skeleton protobuf refuses, as
     * {@link #parse(java.nio.ByteBuffer)} does, so that malformed files fail as they always did.
     */
    static RawDataSplitter.Split parseMapped(java.nio.ByteBuffer buffer) {
        try {
            RawDataSplitter.Split m = RawDataSplitter.parse(buffer, skeleton -> parse(
                    CodedInputStream.newInstance(skeleton), skeleton.length));
            if (m != null) {
                return m;
            }
        } catch (ModelFormatException e) {
            // parsed again below, whole, for the message a malformed file always had
        }
        return new RawDataSplitter.Split(parse(buffer), Map.of());
    }

    /** Parses from a buffer, aliasing its bytes (no copy): the buffer must outlive the returned message's use. */
    static ModelProto parse(java.nio.ByteBuffer buffer) {
        CodedInputStream in = CodedInputStream.newInstance(buffer);
        in.enableAliasing(true);
        return parse(in, buffer.remaining());
    }

    private static ModelProto parse(CodedInputStream in, int size) {
        try {
            in.setRecursionLimit(MAX_NESTING);
            in.setSizeLimit(size);
            ModelProto m = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
            return m;
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException("Not a valid ONNX model (corrupted or truncated protobuf): "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException("Cannot parse the model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ModelFormatException("Not a valid ONNX model: " + e, e);
        }
    }

    /** Builds the graph IR of a parsed model. */
    public static Graph toGraph(ModelProto model, Path baseDir) {
        return toGraph(model, baseDir, bytes -> { });
    }

    /** Bytes of initializers copied between two releases of the mapped file's pages. */
    static final long RELEASE_EVERY = 8L << 20;

    /** As {@link #toGraph(ModelProto, Path)}, telling {@code copied} the size of each initializer once decoded. */
    static Graph toGraph(ModelProto model, Path baseDir, java.util.function.LongConsumer copied) {
        return toGraph(model, baseDir, Map.of(), copied);
    }

    /**
     * As {@link #toGraph(ModelProto, Path, java.util.function.LongConsumer)}, with the raw data of initializers kept
     * out of the message ({@link RawDataSplitter}) in {@code raw}.
     */
    static Graph toGraph(ModelProto model, Path baseDir, Map<TensorProto, java.nio.ByteBuffer> raw,
                         java.util.function.LongConsumer copied) {
        if (!model.hasGraph()) {
            throw new ModelFormatException("The file has no graph: it is not an ONNX model (or is truncated)");
        }
        if (model.getIrVersion() < 3) {
            throw new ModelFormatException("ONNX IR version " + model.getIrVersion()
                    + " is not supported; Tandem reads IR version 3 and later (opset imports)");
        }
        Graph g = new Graph();
        try {
            g.setIrVersion(model.getIrVersion());
            g.setProducer(model.getProducerName(), model.getProducerVersion());
            g.setDocString(model.getDocString());
            for (OperatorSetIdProto op : model.getOpsetImportList()) {
                String domain = op.getDomain().equals("ai.onnx") ? "" : op.getDomain();
                if (op.getVersion() < 1 || op.getVersion() > 1000) {
                    throw new ModelFormatException("Invalid opset version " + op.getVersion() + " for domain '"
                            + domain + "'");
                }
                g.opsets().put(domain, (int) op.getVersion());
            }
            for (StringStringEntryProto e : model.getMetadataPropsList()) {
                g.metadata().put(e.getKey(), e.getValue());
            }
            readGraph(model.getGraph(), g, baseDir, raw, copied);
            if (!g.opsets().containsKey("")) {
                for (Node n : g.nodes()) {
                    if (n.domain().isEmpty()) {
                        throw new ModelFormatException("Node " + n.describe()
                                + " is in the default ONNX domain, but the model imports no version of it");
                    }
                }
            }
            g.sort();
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private static void readGraph(GraphProto gp, Graph g, Path baseDir, Map<TensorProto, java.nio.ByteBuffer> raw,
                                  java.util.function.LongConsumer copied) {
        g.setName(gp.getName());
        Set<String> initNames = new HashSet<>();
        for (TensorProto t : gp.getInitializerList()) {
            if (t.getName().isEmpty()) {
                throw new ModelFormatException("An initializer has no name");
            }
            if (!initNames.add(t.getName())) {
                throw new ModelFormatException("Initializer '" + t.getName() + "' is defined twice");
            }
            dev.tandem.runtime.tensor.Tensor decoded = TensorCodec.decode(t, raw.get(t), baseDir);
            g.value(t.getName()).setConstant(decoded);
            copied.accept(decoded.shape().size() * decoded.dtype().byteSize());
        }
        Set<String> inputNames = new HashSet<>();
        for (ValueInfoProto vi : gp.getInputList()) {
            if (!inputNames.add(vi.getName())) {
                throw new ModelFormatException("Graph input '" + vi.getName() + "' is declared twice");
            }
            Value v = g.value(vi.getName());
            v.setDeclared(typeOf(vi));
            if (!initNames.contains(vi.getName())) {
                g.inputs().add(v);
            }
        }
        Set<String> outputNames = new HashSet<>();
        for (ValueInfoProto vi : gp.getOutputList()) {
            if (!outputNames.add(vi.getName())) {
                throw new ModelFormatException("Graph output '" + vi.getName() + "' is declared twice");
            }
            Value v = g.value(vi.getName());
            v.setDeclared(typeOf(vi));
            g.outputs().add(v);
        }
        if (g.outputs().isEmpty()) {
            throw new ModelFormatException("The graph declares no outputs");
        }
        int index = 0;
        Set<String> nodeNames = new HashSet<>();
        for (NodeProto np : gp.getNodeList()) {
            String name = np.getName().isEmpty() ? np.getOpType() + "_" + index : np.getName();
            while (!nodeNames.add(name)) {
                name = name + "_" + index;
            }
            index++;
            if (np.getOpType().isEmpty()) {
                throw new ModelFormatException("Node '" + name + "' has no op type");
            }
            List<Value> ins = new ArrayList<>();
            for (String in : np.getInputList()) {
                ins.add(in.isEmpty() ? null : g.value(in));
            }
            List<Value> outs = new ArrayList<>();
            for (String out : np.getOutputList()) {
                // An empty output name is an optional output nobody reads; give it a private value.
                outs.add(out.isEmpty() ? g.newValue(name + UNNAMED_OUTPUT) : g.value(out));
            }
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            for (AttributeProto ap : np.getAttributeList()) {
                attrs.put(ap.getName(), attribute(ap, baseDir, name));
            }
            g.add(new Node(name, np.getOpType(), np.getDomain(), ins, outs, attrs));
        }
    }

    /**
     * True when {@code out} is a private value this reader made for an empty output name of {@code node} (an
     * optional output the model does not request), so a writer can write the empty name back.
     */
    static boolean isUnnamedOutput(Node node, Value out) {
        return out.name().startsWith(node.name() + UNNAMED_OUTPUT + "__");
    }

    static Attribute attribute(AttributeProto ap, Path baseDir, String node) {
        String n = ap.getName();
        AttributeProto.AttributeType type = ap.hasType() ? ap.getType() : inferType(ap);
        return switch (type) {
            case FLOAT -> new Attribute(n, Attribute.Kind.FLOAT, ap.getF());
            case INT -> new Attribute(n, Attribute.Kind.INT, ap.getI());
            case STRING -> new Attribute(n, Attribute.Kind.STRING, ap.getS().toString(StandardCharsets.UTF_8));
            case TENSOR -> new Attribute(n, Attribute.Kind.TENSOR,
                    TensorCodec.decode(ap.getT(), baseDir));
            case FLOATS -> {
                float[] f = new float[ap.getFloatsCount()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = ap.getFloats(i);
                }
                yield new Attribute(n, Attribute.Kind.FLOATS, f);
            }
            case INTS -> {
                long[] v = new long[ap.getIntsCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = ap.getInts(i);
                }
                yield new Attribute(n, Attribute.Kind.INTS, v);
            }
            case STRINGS -> {
                String[] s = new String[ap.getStringsCount()];
                for (int i = 0; i < s.length; i++) {
                    s[i] = ap.getStrings(i).toString(StandardCharsets.UTF_8);
                }
                yield new Attribute(n, Attribute.Kind.STRINGS, s);
            }
            default -> new Attribute(n, Attribute.Kind.OTHER, null);
        };
    }

    private static AttributeProto.AttributeType inferType(AttributeProto ap) {
        if (ap.hasF()) {
            return AttributeProto.AttributeType.FLOAT;
        } else if (ap.hasI()) {
            return AttributeProto.AttributeType.INT;
        } else if (ap.hasS()) {
            return AttributeProto.AttributeType.STRING;
        } else if (ap.hasT()) {
            return AttributeProto.AttributeType.TENSOR;
        } else if (ap.getFloatsCount() > 0) {
            return AttributeProto.AttributeType.FLOATS;
        } else if (ap.getIntsCount() > 0) {
            return AttributeProto.AttributeType.INTS;
        } else if (ap.getStringsCount() > 0) {
            return AttributeProto.AttributeType.STRINGS;
        }
        return AttributeProto.AttributeType.UNDEFINED;
    }

    /** The declared type of a graph input or output. */
    static TensorType typeOf(ValueInfoProto vi) {
        if (!vi.hasType()) {
            return null;
        }
        if (!vi.getType().hasTensorType()) {
            return new TensorType(null, -1, null, null);   // a sequence, map or optional: not a tensor
        }
        TypeProto.Tensor tt = vi.getType().getTensorType();
        int code = tt.getElemType();
        DType dtype;
        try {
            dtype = DType.fromOnnx(code);
        } catch (IllegalArgumentException e) {
            dtype = null;
        }
        if (!tt.hasShape()) {
            return new TensorType(dtype, code, null, null);
        }
        List<TensorShapeProto.Dimension> dl = tt.getShape().getDimList();
        long[] dims = new long[dl.size()];
        String[] names = new String[dl.size()];
        for (int i = 0; i < dims.length; i++) {
            TensorShapeProto.Dimension d = dl.get(i);
            dims[i] = d.hasDimValue() && d.getDimValue() >= 0 ? d.getDimValue() : -1;
            names[i] = d.hasDimParam() ? d.getDimParam() : null;
        }
        return new TensorType(dtype, code, dims, names);
    }
}
