package dev.tandem.runtime.onnx;

import static dev.tandem.runtime.onnx.GraphAssert.assertSameGraph;
import static dev.tandem.runtime.onnx.GraphAssert.assertSameTensor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelTooLargeException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OnnxWriter} on graphs built in code: what is written (types, symbolic dimensions, initializers, every
 * attribute kind and tensor type, opset imports, metadata, producer, IR version), that a written model runs as the
 * graph does in memory, what is refused, and that {@link OnnxWriter#write} replaces a file atomically.
 */
class OnnxWriterTest {
    private static ThreadPool pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void finish() {
        pool.close();
    }

    // ---- graphs built in code

    private static TensorType floats(Object... dims) {
        long[] d = new long[dims.length];
        String[] names = new String[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] instanceof String s) {
                d[i] = -1;
                names[i] = s;
            } else {
                d[i] = ((Number) dims[i]).longValue();
            }
        }
        return new TensorType(DType.FLOAT32, DType.FLOAT32.onnxCode(), d, names);
    }

    private static Tensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * 0.3f;
        }
        return Tensor.ofFloats(s, v);
    }

    private static Value constant(Graph g, String name, Tensor t) {
        Value v = g.value(name);
        v.setConstant(t);
        return v;
    }

    /** x[batch,3,8,8] → Conv(4, 3×3, pad 1) → Relu → Flatten → Gemm(10, transB) → y[batch,10], seeded weights. */
    private static Graph convReluGemm(long seed) {
        Random r = new Random(seed);
        Graph g = new Graph();
        g.setName("conv-relu-gemm");
        g.opsets().put("", 17);
        Value x = g.value("x");
        x.setDeclared(floats("batch", 3, 8, 8));
        g.inputs().add(x);
        Value w = constant(g, "conv.weight", random(r, 4, 3, 3, 3));
        Value b = constant(g, "conv.bias", random(r, 4));
        Value fw = constant(g, "fc.weight", random(r, 10, 4 * 8 * 8));
        Value fb = constant(g, "fc.bias", random(r, 10));
        Map<String, Attribute> conv = new LinkedHashMap<>();
        conv.put("kernel_shape", Attribute.of("kernel_shape", new long[] {3, 3}));
        conv.put("pads", Attribute.of("pads", new long[] {1, 1, 1, 1}));
        g.add(new Node("conv", "Conv", "", List.of(x, w, b), List.of(g.value("c")), conv));
        g.add(new Node("relu", "Relu", "", List.of(g.value("c")), List.of(g.value("r")), Map.of()));
        g.add(new Node("flatten", "Flatten", "", List.of(g.value("r")), List.of(g.value("f")),
                Map.of("axis", Attribute.of("axis", 1L))));
        Value y = g.value("y");
        y.setDeclared(floats("batch", 10));
        g.add(new Node("fc", "Gemm", "", List.of(g.value("f"), fw, fb), List.of(y),
                Map.of("transB", Attribute.of("transB", 1L))));
        g.outputs().add(y);
        g.metadata().put("labels", "a,b,c,d,e,f,g,h,i,j");
        return g;
    }

    private static void assertSameOutputs(Model expected, Model actual, int batch) {
        try (Tensor x = random(new Random(batch), batch, 3, 8, 8);
             Tensor ye = expected.run(x); Tensor ya = actual.run(x)) {
            assertThat(ye.shape()).isEqualTo(Shape.of(batch, 10));
            assertSameTensor(ye, ya, "y at batch " + batch);
        }
    }

    @Test
    void aConvReluGemmGraphWrittenAndLoadedRunsLikeTheGraphInMemory() throws IOException {
        Path file = dir.resolve("net.onnx");
        try (Graph g = convReluGemm(7)) {
            OnnxWriter.write(g, file);
        }
        ModelProto p = OnnxReader.parse(Files.readAllBytes(file));
        assertThat(p.getIrVersion()).isEqualTo(8);
        assertThat(p.getProducerName()).isEqualTo(OnnxWriter.PRODUCER);
        assertThat(p.getOpsetImportList()).containsExactly(
                OperatorSetIdProto.newBuilder().setDomain("").setVersion(17).build());
        assertThat(p.getGraph().getName()).isEqualTo("conv-relu-gemm");
        assertThat(p.getGraph().getInitializerList()).extracting(TensorProto::getName)
                .containsExactly("conv.weight", "conv.bias", "fc.weight", "fc.bias");
        // The dynamic batch is a named dimension, not a number.
        List<TensorShapeProto.Dimension> dims = p.getGraph().getInput(0).getType().getTensorType().getShape()
                .getDimList();
        assertThat(dims.getFirst().getDimParam()).isEqualTo("batch");
        assertThat(dims.getFirst().hasDimValue()).isFalse();
        assertThat(dims.subList(1, 4)).extracting(TensorShapeProto.Dimension::getDimValue).containsExactly(3L, 8L, 8L);

        Model.Options o = Model.Options.defaults().withPool(pool);
        // inMemory's optimized graph is written below, weights included: it keeps them after packing
        try (Model loaded = Model.load(file, o);
             Model inMemory = Model.fromGraph(convReluGemm(7), o.withKeepWeights(true))) {
            assertThat(loaded.inputs().getFirst().type().describe()).isEqualTo("float32[batch,3,8,8]");
            assertThat(loaded.outputs().getFirst().type().describe()).isEqualTo("float32[batch,10]");
            assertThat(loaded.metadata()).containsEntry("labels", "a,b,c,d,e,f,g,h,i,j");
            for (int batch : new int[] {2, 1}) {
                assertSameOutputs(inMemory, loaded, batch);
            }

            // The optimized graph holds Tandem's own fused op: written, it imports the dev.tandem domain and
            // still runs the same.
            assertThat(inMemory.graph().nodes()).anyMatch(n -> n.domain().equals(Node.TANDEM_DOMAIN));
            Path fused = dir.resolve("fused.onnx");
            OnnxWriter.write(inMemory.graph(), fused);
            ModelProto fp = OnnxReader.parse(Files.readAllBytes(fused));
            assertThat(fp.getOpsetImportList()).contains(
                    OperatorSetIdProto.newBuilder().setDomain(Node.TANDEM_DOMAIN).setVersion(1).build());
            try (Model again = Model.load(fused, o)) {
                assertSameOutputs(inMemory, again, 3);
            }
        }
    }

    @Test
    void metadataOpsetsProducerAndEveryAttributeKindSurvive() {
        try (Graph g = new Graph()) {
            g.setName("kinds");
            g.opsets().put("", 17);
            g.opsets().put(Node.TANDEM_DOMAIN, 1);
            g.opsets().put("com.example", 3);
            g.metadata().put("labels", "cat\ndog");
            g.metadata().put("preprocessing", "{\"mean\":[0.485,0.456,0.406]}");
            g.metadata().put("note", "ünïcödé ✓");
            g.setProducer("tandem-train", "0.3.1");
            g.setDocString("A classifier trained by a test.");
            Value x = g.value("x");
            x.setDeclared(new TensorType(DType.INT64, DType.INT64.onnxCode(), new long[] {-1, -1, 5},
                    new String[] {"batch", null, null}));
            g.inputs().add(x);
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            attrs.put("f", Attribute.of("f", 0.25f));
            attrs.put("nan", Attribute.of("nan", Float.NaN));
            attrs.put("i", Attribute.of("i", -3L));
            attrs.put("s", Attribute.of("s", "mean ✓"));
            attrs.put("t", new Attribute("t", Attribute.Kind.TENSOR, Tensor.ofLongs(Shape.of(2), 4, -5)));
            attrs.put("fs", Attribute.of("fs", new float[] {1.5f, -2f}));
            attrs.put("is", Attribute.of("is", new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}));
            attrs.put("ss", new Attribute("ss", Attribute.Kind.STRINGS, new String[] {"a", "", "ç"}));
            attrs.put("empty", Attribute.of("empty", new long[0]));
            Value a = g.value("a");
            g.add(new Node("custom", "Anything", "com.example", List.of(x), List.of(a), attrs));
            Value y = g.value("y");
            y.setDeclared(new TensorType(DType.FLOAT32, 1, null, null));   // rank not declared
            g.add(new Node("step", "SgdStep", Node.TANDEM_DOMAIN, Arrays.asList(a, null), List.of(y), Map.of()));
            g.outputs().add(y);

            byte[] bytes = OnnxWriter.toBytes(g);
            ModelProto p = OnnxReader.parse(bytes);
            assertThat(p.getOpsetImportList()).extracting(OperatorSetIdProto::getDomain)
                    .containsExactly("", Node.TANDEM_DOMAIN, "com.example");
            assertThat(p.getProducerName()).isEqualTo("tandem-train");
            assertThat(p.getProducerVersion()).isEqualTo("0.3.1");
            assertThat(p.getDocString()).isEqualTo("A classifier trained by a test.");
            assertThat(p.getGraph().getNode(1).getInputList()).containsExactly("a", "");
            ValueInfoProto out = p.getGraph().getOutput(0);
            assertThat(out.getType().getTensorType().hasShape()).isFalse();
            try (Graph back = OnnxReader.read(bytes, null)) {
                assertSameGraph(g, back);
                assertThat(back.name()).isEqualTo("kinds");
                assertThat(back.inputs().getFirst().declared().describe()).isEqualTo("int64[batch,?,5]");
            }
        }
    }

    @Test
    void tensorsOfEveryTypeAreLittleEndianRawData() {
        try (Graph g = new Graph(); Tensor base = Tensor.ofFloats(Shape.of(2, 3), 1, 2, 3, 4, 5, 6)) {
            g.opsets().put("", 17);
            Map<DType, String> expectedHex = new LinkedHashMap<>();
            for (DType t : DType.values()) {
                Tensor c = Tensor.allocate(t, Shape.of(2));
                Elements.setLong(c, 0, 1);
                Elements.setLong(c, 1, t == DType.BOOL ? 0 : t == DType.UINT8 ? 200 : -2);
                if (t.isFloatingPoint()) {
                    Elements.setDouble(c, 1, -2.5);
                }
                addIdentity(g, t.name(), c);
                expectedHex.put(t, switch (t) {
                    case FLOAT32 -> "0000803f000020c0";
                    case FLOAT64 -> "000000000000f03f00000000000004c0";
                    case INT64 -> "0100000000000000feffffffffffffff";
                    case INT32 -> "01000000feffffff";
                    case INT8 -> "01fe";
                    case UINT8 -> "01c8";
                    case BOOL -> "0100";
                });
            }
            // A view whose strides are not row-major: written as its elements in logical order.
            addIdentity(g, "transposed", base.transpose(0, 1));
            // A scalar and an empty tensor.
            addIdentity(g, "scalar", Tensor.ofLongs(Shape.scalar(), 42));
            addIdentity(g, "empty", Tensor.allocate(DType.FLOAT32, Shape.of(0, 3)));

            byte[] bytes = OnnxWriter.toBytes(g);
            ModelProto p = OnnxReader.parse(bytes);
            Map<String, TensorProto> inits = new LinkedHashMap<>();
            for (TensorProto t : p.getGraph().getInitializerList()) {
                assertThat(t.hasRawData()).as(t.getName()).isTrue();
                assertThat(t.getFloatDataCount() + t.getInt32DataCount() + t.getInt64DataCount()
                        + t.getDoubleDataCount()).isZero();
                inits.put(t.getName(), t);
            }
            expectedHex.forEach((t, hex) -> {
                TensorProto tp = inits.get(t.name());
                assertThat(tp.getDataType()).as(t.name()).isEqualTo(t.onnxCode());
                assertThat(tp.getDimsList()).containsExactly(2L);
                assertThat(HexFormat.of().formatHex(tp.getRawData().toByteArray())).as(t.name()).isEqualTo(hex);
            });
            assertThat(inits.get("transposed").getDimsList()).containsExactly(3L, 2L);
            try (Tensor t = TensorCodec.decode(inits.get("transposed"), null)) {
                assertThat(t.toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            }
            assertThat(inits.get("scalar").getDimsList()).isEmpty();
            assertThat(inits.get("empty").getRawData().size()).isZero();
            try (Graph back = OnnxReader.read(bytes, null)) {
                assertSameGraph(g, back);
            }
        }
    }

    private static void addIdentity(Graph g, String name, Tensor t) {
        Value c = constant(g, name, t);
        Value out = g.value(name + ".out");
        out.setDeclared(new TensorType(t.dtype(), t.dtype().onnxCode(),
                Arrays.stream(t.shape().dims()).asLongStream().toArray(), new String[t.rank()]));
        g.add(new Node(name, "Identity", "", List.of(c), List.of(out), Map.of()));
        g.outputs().add(out);
    }

    @Test
    void irVersionFollowsTheOpset() {
        assertThat(OnnxWriter.irVersionFor(7)).isEqualTo(8);
        assertThat(OnnxWriter.irVersionFor(17)).isEqualTo(8);
        assertThat(OnnxWriter.irVersionFor(18)).isEqualTo(8);
        assertThat(OnnxWriter.irVersionFor(19)).isEqualTo(9);
        assertThat(OnnxWriter.irVersionFor(21)).isEqualTo(10);
        assertThat(OnnxWriter.irVersionFor(23)).isEqualTo(11);
        try (Graph g = convReluGemm(1)) {
            g.setIrVersion(10);   // read from a newer file: kept
            assertThat(OnnxReader.parse(OnnxWriter.toBytes(g)).getIrVersion()).isEqualTo(10);
            g.setIrVersion(3);    // an old file: raised, as initializers are no longer graph inputs
            assertThat(OnnxReader.parse(OnnxWriter.toBytes(g)).getIrVersion()).isEqualTo(8);
        }
    }

    // ---- refusals

    @Test
    void whatCannotBeWrittenIsRefusedWithTheReason() {
        try (Graph g = convReluGemm(1)) {
            g.nodes().get(1).attributes().put("then_branch",
                    new Attribute("then_branch", Attribute.Kind.OTHER, null));
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(UnsupportedModelException.class)
                    .hasMessageContaining("attribute 'then_branch' of node Relu 'relu'");
        }
        try (Graph g = convReluGemm(1)) {
            g.inputs().getFirst().setDeclared(null);
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Graph input 'x' has no declared type");
        }
        try (Graph g = convReluGemm(1)) {
            g.inputs().getFirst().setDeclared(new TensorType(null, -1, null, null));
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(UnsupportedModelException.class)
                    .hasMessageContaining("sequence, map or optional");
        }
        try (Graph g = convReluGemm(1)) {
            Node relu = g.nodes().remove(1);
            g.nodes().add(relu);
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Node Flatten 'flatten' reads 'r' before the node computing it")
                    .hasMessageContaining("Graph.sort()");
        }
        try (Graph g = convReluGemm(1)) {
            g.nodes().get(1).inputs().set(0, g.value("nowhere"));
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("reads 'nowhere', which is not a graph input");
        }
        try (Graph g = convReluGemm(1)) {
            g.opsets().clear();
            assertThatThrownBy(() -> OnnxWriter.toBytes(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("imports no version");
        }
    }

    @Test
    void modelsOverTheLimitAreRefusedBeforeAnythingIsWritten() throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.writeString(file, "the previous model");
        try (Graph g = convReluGemm(1)) {
            int size = OnnxWriter.toBytes(g).length;
            long weights = (4 * 3 * 3 * 3 + 4 + 10 * 256 + 10) * 4;
            // Weights alone over the limit: refused before building anything.
            assertThatThrownBy(() -> OnnxWriter.write(g, file, weights - 1))
                    .isInstanceOf(ModelTooLargeException.class)
                    .hasMessageContaining("external data")
                    .satisfies(e -> assertThat(((ModelTooLargeException) e).bytes()).isEqualTo(weights));
            // Weights fit, the whole file does not.
            assertThatThrownBy(() -> OnnxWriter.toBytes(g, size - 1)).isInstanceOf(ModelTooLargeException.class)
                    .satisfies(e -> assertThat(((ModelTooLargeException) e).bytes()).isEqualTo(size));
            assertThat(OnnxWriter.toBytes(g, size)).hasSize(size);
        }
        assertThat(Files.readString(file)).isEqualTo("the previous model");
        assertThat(files(dir)).containsExactly("model.onnx");
    }

    // ---- atomic replacement

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.writeString(file, "the previous model");
        Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rw-r-----");
        Files.setPosixFilePermissions(file, perms);
        try (Graph g = convReluGemm(1)) {
            OnnxWriter.write(g, file);
            assertThat(Files.readAllBytes(file)).isEqualTo(OnnxWriter.toBytes(g));
        }
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(perms);
        assertThat(files(dir)).containsExactly("model.onnx");
    }

    @Test
    void aFailureMidWriteLeavesTheExistingFileIntactAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.writeString(file, "the previous model");
        assertThatThrownBy(() -> AtomicFile.write(file, out -> {
            out.write(new byte[100_000]);   // past the buffer: bytes reach the temporary file
            throw new IOException("No space left on device");
        })).isInstanceOf(IOException.class).hasMessage("No space left on device");
        assertThat(Files.readString(file)).isEqualTo("the previous model");
        assertThat(files(dir)).containsExactly("model.onnx");
    }

    @Test
    void writingIntoAReadOnlyFolderFailsAndLeavesTheExistingFileIntact() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("read-only"));
        Path file = ro.resolve("model.onnx");
        Files.writeString(file, "the previous model");
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Assumptions.assumeFalse(Files.isWritable(ro),
                    "skipped: this user (root?) may write into a read-only folder");
            try (Graph g = convReluGemm(1)) {
                assertThatThrownBy(() -> OnnxWriter.write(g, file)).isInstanceOf(AccessDeniedException.class);
            }
            assertThat(Files.readString(file)).isEqualTo("the previous model");
            assertThat(files(ro)).containsExactly("model.onnx");
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aMissingFolderOrAFolderInTheWayFailsWithoutLeavingAnything() throws IOException {
        try (Graph g = convReluGemm(1)) {
            assertThatThrownBy(() -> OnnxWriter.write(g, dir.resolve("missing").resolve("model.onnx")))
                    .isInstanceOf(NoSuchFileException.class);
            Path folder = Files.createDirectory(dir.resolve("model.onnx"));
            Files.writeString(folder.resolve("keep.txt"), "kept");
            assertThatThrownBy(() -> OnnxWriter.write(g, folder)).isInstanceOf(IOException.class)
                    .hasMessageContaining("is a folder");
            assertThat(Files.readString(folder.resolve("keep.txt"), StandardCharsets.UTF_8)).isEqualTo("kept");
        }
        assertThat(files(dir)).containsExactly("model.onnx");
    }
}
