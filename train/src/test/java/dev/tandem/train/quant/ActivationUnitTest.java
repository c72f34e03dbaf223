package dev.tandem.train.quant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Conv followed by a Relu or a ReLU6 (Clip 0..6) is quantized as one unit: the activation reads the Conv's float
 * output directly, the QuantizeLinear reads the activation's output, and Tandem's runtime fuses each unit into one
 * QConv (no Clip or Relu left), close to the float model.
 */
class ActivationUnitTest {
    @TempDir
    Path dir;

    @Test
    void reluAndRelu6JoinTheConvBeforeThem() throws Exception {
        Path model = dir.resolve("act.onnx");
        OnnxWriter.write(TinyModels.activations(), model);
        Path out = dir.resolve("act.int8.onnx");
        Quantizer.Report r = Quantizer.quantize(model, new TinyModels.Noise(16, 3, 8, 8), Quantizer.Options.defaults()
                .withSamples(16).withThreads(2), out);
        assertThat(r.quantized()).hasSize(3);
        assertThat(r.activated()).containsExactly("Clip 'relu6'", "Relu 'relu'");
        assertThat(r.leftFloat()).isEmpty();
        assertThat(r.toString()).contains("Quantized 3 ops, 2 of them with the Relu or Clip after them");

        List<NodeProto> nodes = ModelProto.parseFrom(Files.readAllBytes(out)).getGraph().getNodeList();
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : nodes) {
            n.getOutputList().forEach(o -> producer.put(o, n));
        }
        for (NodeProto n : nodes) {
            if (n.getOpType().equals("Clip") || n.getOpType().equals("Relu")) {
                assertThat(producer.get(n.getInput(0)).getOpType()).as("%s reads", n.getName()).isEqualTo("Conv");
            }
            if (n.getOpType().equals("QuantizeLinear") && producer.containsKey(n.getInput(0))) {
                assertThat(producer.get(n.getInput(0)).getOpType()).as("%s reads", n.getName())
                        .isIn("Clip", "Relu");
            }
        }

        float[] x = new float[3 * 8 * 8];
        Random rnd = new Random(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextFloat();
        }
        float[][] y = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (Model m = Model.load(k == 0 ? model : out); Tensor in = Tensor.ofFloats(Shape.of(1, 3, 8, 8), x);
                 Tensor t = m.run(in)) {
                y[k] = t.toFloatArray();
                if (k == 1) {
                    List<String> ops = m.graph().nodes().stream().map(Node::opType).toList();
                    assertThat(ops).doesNotContain("Clip", "Relu");
                    assertThat(ops.stream().filter(o -> o.equals("QConv")).count()).isEqualTo(2);
                }
            }
        }
        float max = 0;
        for (float v : y[0]) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < y[0].length; i++) {
            assertThat(Math.abs(y[1][i] - y[0][i])).as("output %d", i).isLessThanOrEqualTo(0.05f * max);
        }
    }
}
