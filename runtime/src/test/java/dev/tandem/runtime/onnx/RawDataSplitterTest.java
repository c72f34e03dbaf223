package dev.tandem.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading a model file keeps the initializers' raw data out of the parsed message ({@link RawDataSplitter}): the
 * graph must be the one the whole-file parse gives, the weights must not pass through the heap, and whatever the
 * splitter does not accept must be parsed (and refused) as before.
 */
class RawDataSplitterTest {
    @TempDir
    Path dir;

    private static ByteString floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return ByteString.copyFrom(b.array());
    }

    /** Every kind of initializer and field the splitter meets, and an initializer repeated raw_data field. */
    private byte[] variedModel() throws Exception {
        Files.write(dir.resolve("e.bin"), floats(7, 8, 9, 10).toByteArray());
        TensorProto raw = TensorProto.newBuilder().setName("raw").setDataType(1).addDims(2).addDims(2)
                .setRawData(floats(1, -2, 3.5f, 4)).setDocString("before and after raw_data").build();
        TensorProto typed = TensorProto.newBuilder().setName("typed").setDataType(1).addDims(3)
                .addFloatData(0.25f).addFloatData(-1).addFloatData(6).build();
        TensorProto longs = TensorProto.newBuilder().setName("longs").setDataType(7).addDims(2)
                .setRawData(ByteString.copyFrom(new byte[] {5, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1}))
                .build();
        TensorProto empty = TensorProto.newBuilder().setName("empty").setDataType(1).addDims(0)
                .setRawData(ByteString.EMPTY).build();
        TensorProto external = TensorProto.newBuilder().setName("external").setDataType(1).addDims(4)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("e.bin"))
                .build();
        TensorProto unknown = TensorProto.newBuilder().setName("unknown").setDataType(1).addDims(1)
                .setRawData(floats(42)).setUnknownFields(UnknownFieldSet.newBuilder().addField(999,
                        UnknownFieldSet.Field.newBuilder().addVarint(12345).build()).build()).build();
        // Two raw_data fields in one initializer (protobuf keeps the last): written as the graph's unknown field 5,
        // which protobuf reads as one more initializer.
        ByteArrayOutputStream twice = new ByteArrayOutputStream();
        TensorProto.newBuilder().setName("twice").setDataType(1).addDims(2).setRawData(floats(-1, -1)).build()
                .writeTo(twice);
        TensorProto.newBuilder().setRawData(floats(3, 4)).build().writeTo(twice);
        UnknownFieldSet lastInitializer = UnknownFieldSet.newBuilder().addField(5, UnknownFieldSet.Field.newBuilder()
                .addLengthDelimited(ByteString.copyFrom(twice.toByteArray())).build()).build();
        AttributeProto value = AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                .setT(TensorProto.newBuilder().setDataType(1).addDims(1).setRawData(floats(0.5f))).build();
        GraphProto.Builder g = GraphProto.newBuilder().setName("varied").setDocString("a graph")
                .addNode(NodeProto.newBuilder().setOpType("Constant").setName("c").addOutput("k").addAttribute(value))
                .addNode(NodeProto.newBuilder().setOpType("Add").setName("a").addInput("raw").addInput("k")
                        .addOutput("y"))
                .addOutput(TestModels.floatInput("y", 2, 2)).setUnknownFields(lastInitializer);
        for (TensorProto t : new TensorProto[] {raw, typed, longs, empty, external, unknown}) {
            g.addInitializer(t);
        }
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("test").setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17))
                .addMetadataProps(StringStringEntryProto.newBuilder().setKey("k").setValue("v")).build().toByteArray();
    }

    @Test
    void aModelFileReadsAsTheWholeParseOfItsBytes() throws Exception {
        byte[] bytes = variedModel();
        Path file = Files.write(dir.resolve("m.onnx"), bytes);
        RawDataSplitter.Split split = RawDataSplitter.parse(ByteBuffer.wrap(bytes).asReadOnlyBuffer(),
                OnnxReader::parse);
        assertThat(split).isNotNull();
        // The skeleton is the message less the initializers' raw data, which comes as views beside it.
        ModelProto whole = OnnxReader.parse(bytes);
        assertThat(whole.getGraph().getInitializerList()).extracting(TensorProto::getName)
                .containsExactly("raw", "typed", "longs", "empty", "external", "unknown", "twice");
        GraphProto.Builder stripped = whole.getGraph().toBuilder();
        for (int i = 0; i < stripped.getInitializerCount(); i++) {
            TensorProto t = whole.getGraph().getInitializer(i);
            TensorProto s = split.model().getGraph().getInitializer(i);
            stripped.setInitializer(i, t.toBuilder().clearRawData());
            if (t.hasRawData()) {
                ByteBuffer view = split.raw().get(s);
                assertThat(view).as(t.getName()).isNotNull();
                assertThat(ByteString.copyFrom(view.duplicate())).as(t.getName()).isEqualTo(t.getRawData());
            } else {
                assertThat(split.raw()).as(t.getName()).doesNotContainKey(s);
            }
        }
        assertThat(split.model()).isEqualTo(whole.toBuilder().setGraph(stripped).build());

        try (Graph fromFile = OnnxReader.read(file); Graph fromBytes = OnnxReader.read(bytes, dir)) {
            GraphAssert.assertSameGraph(fromBytes, fromFile);
            assertThat(fromFile.value("twice").constant().toFloatArray()).containsExactly(3, 4);
            assertThat(fromFile.value("unknown").constant().toFloatArray()).containsExactly(42);
            assertThat(fromFile.value("empty").constant().size()).isZero();
        }
    }

    @Test
    void theWeightsDoNotPassThroughTheHeap() throws Exception {
        int n = 1 << 20; // three 4 MiB initializers
        GraphProto.Builder g = GraphProto.newBuilder().setName("big");
        float[] v = new float[n];
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < n; i++) {
                v[i] = t * 7919 + i % 1013;
            }
            g.addInitializer(TensorProto.newBuilder().setName("w" + t).addDims(n).setDataType(1).setRawData(floats(v)));
        }
        g.addNode(NodeProto.newBuilder().setOpType("Sum").setName("s").addInput("w0").addInput("w1").addInput("w2")
                .addOutput("y")).addOutput(TestModels.floatInput("y", n));
        Path file = dir.resolve("big.onnx");
        Files.write(file, ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        long size = Files.size(file);
        OnnxReader.read(file).close(); // classes loaded, code warm
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        try (Graph graph = OnnxReader.read(file)) {
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            // The whole-file parse allocated a heap copy of the file (and more): here only the skeleton and objects.
            assertThat(allocated).as("heap bytes allocated reading a %d-byte file", size).isLessThan(size / 8);
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < n; i++) {
                    v[i] = t * 7919 + i % 1013;
                }
                assertThat(Arrays.equals(graph.value("w" + t).constant().toFloatArray(), v)).as("w%d", t).isTrue();
            }
        }
    }

    @Test
    void whatTheSplitterDoesNotAcceptIsParsedWholeAndFailsAsBefore() throws Exception {
        byte[] bytes = variedModel();
        // Truncated: the walk finds a length past the end; the whole parse names the problem.
        byte[] cut = Arrays.copyOf(bytes, bytes.length - 5);
        assertThat(RawDataSplitter.parse(ByteBuffer.wrap(cut), OnnxReader::parse)).isNull();
        Path cutFile = Files.write(dir.resolve("cut.onnx"), cut);
        String wholeMessage = catchMessage(() -> OnnxReader.read(cut, dir));
        assertThatThrownBy(() -> OnnxReader.read(cutFile)).isInstanceOf(ModelFormatException.class)
                .hasMessage("cut.onnx: " + wholeMessage);

        // Two graph fields (protobuf merges them): left to protobuf, and read as before.
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        two.write(bytes);
        ModelProto.newBuilder().setGraph(GraphProto.newBuilder().setName("merged")
                .addInitializer(TensorProto.newBuilder().setName("more").setDataType(1).addDims(1)
                        .setRawData(floats(2)))).build().writeTo(two);
        byte[] merged = two.toByteArray();
        assertThat(RawDataSplitter.parse(ByteBuffer.wrap(merged), OnnxReader::parse)).isNull();
        try (Graph fromFile = OnnxReader.read(Files.write(dir.resolve("two.onnx"), merged));
             Graph fromBytes = OnnxReader.read(merged, dir)) {
            GraphAssert.assertSameGraph(fromBytes, fromFile);
            assertThat(fromFile.value("more").constant().toFloatArray()).containsExactly(2);
        }

        // A raw_data field with the wrong wire type (protobuf keeps it as an unknown field): left to protobuf too.
        byte[] wrongWire = ModelProto.newBuilder().setIrVersion(8).setProducerName("test").setGraph(GraphProto.newBuilder().addInitializer(
                TensorProto.newBuilder().setName("w").setDataType(1).addDims(1).addFloatData(1)
                        .setUnknownFields(UnknownFieldSet.newBuilder().addField(9, UnknownFieldSet.Field.newBuilder()
                                .addVarint(3).build()).build()))
                        .addNode(NodeProto.newBuilder().setOpType("Relu").setName("r").addInput("w").addOutput("y"))
                        .addOutput(TestModels.floatInput("y", 1)))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray();
        assertThat(RawDataSplitter.parse(ByteBuffer.wrap(wrongWire), OnnxReader::parse)).isNull();
        try (Graph fromFile = OnnxReader.read(Files.write(dir.resolve("wire.onnx"), wrongWire));
             Graph fromBytes = OnnxReader.read(wrongWire, dir)) {
            GraphAssert.assertSameGraph(fromBytes, fromFile);
        }
    }

    @Test
    void mutatedFilesReadAsTheirBytesDo() throws Exception {
        byte[] bytes = variedModel();
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        Path file = dir.resolve("mutated.onnx");
        int same = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] m = FuzzTest.mutate(bytes, r);
            if (m.length == 0) {
                continue;
            }
            Files.write(file, m);
            String fromBytes = outcome(() -> OnnxReader.read(m, dir), "");
            String fromFile = outcome(() -> OnnxReader.read(file), "mutated.onnx: ");
            assertThat(fromFile).as("mutation %d", i).isEqualTo(fromBytes);
            same++;
        }
        assertThat(same).isGreaterThan(1500);
    }

    /** "ok" and the graph's constants, or the ModelException's message less {@code prefix}. */
    private static String outcome(java.util.function.Supplier<Graph> read, String prefix) {
        try (Graph g = read.get()) {
            StringBuilder b = new StringBuilder("ok");
            for (var e : g.values().entrySet()) {
                if (e.getValue().isConstant()) {
                    b.append(' ').append(e.getKey()).append('=')
                            .append(Arrays.toString(GraphAssert.bytes(e.getValue().constant())));
                }
            }
            return b.toString();
        } catch (dev.tandem.runtime.ModelException e) {
            String msg = e.getMessage();
            return msg.startsWith(prefix) ? msg.substring(prefix.length()) : msg; // only format errors name the file
        }
    }

    private static String catchMessage(Runnable r) {
        try {
            r.run();
        } catch (ModelFormatException e) {
            return e.getMessage();
        }
        throw new AssertionError("no ModelFormatException");
    }
}
