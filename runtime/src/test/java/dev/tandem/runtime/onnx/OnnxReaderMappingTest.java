package dev.tandem.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading a model file releases the mapped file's pages while it copies the weights
 * ({@link OnnxReader#RELEASE_EVERY}): weights read after a release must still be the file's bytes.
 */
class OnnxReaderMappingTest {
    @TempDir
    Path dir;

    @Test
    void weightsAfterAPageReleaseAreTheFilesBytes() throws Exception {
        int n = (int) (OnnxReader.RELEASE_EVERY / 4 / 2) + 1001; // two initializers pass the threshold, a third follows
        GraphProto.Builder g = GraphProto.newBuilder().setName("sum3");
        for (int t = 0; t < 3; t++) {
            ByteBuffer raw = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                raw.putFloat(pattern(t, i));
            }
            g.addInitializer(TensorProto.newBuilder().setName("w" + t).addDims(n)
                    .setDataType(TensorProto.DataType.FLOAT_VALUE)
                    .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())));
        }
        g.addNode(NodeProto.newBuilder().setOpType("Sum").setName("s").addInput("w0").addInput("w1").addInput("w2")
                .addOutput("y"));
        g.addOutput(ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(
                        TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n))))));
        Path file = dir.resolve("big.onnx");
        Files.write(file, ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        assertThat(Files.size(file)).isGreaterThan(OnnxReader.RELEASE_EVERY);

        Graph graph = OnnxReader.read(file);
        for (int t = 0; t < 3; t++) {
            float[] got = graph.value("w" + t).constant().toFloatArray();
            assertThat(got).hasSize(n);
            float[] want = new float[n];
            for (int i = 0; i < n; i++) {
                want[i] = pattern(t, i);
            }
            assertThat(java.util.Arrays.equals(got, want)).as("initializer w%d", t).isTrue();
        }
    }

    private static float pattern(int t, int i) {
        return (t + 1) * 1000f + (i % 9973) * 0.5f;
    }
}
