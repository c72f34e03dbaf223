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
 * QConv (no Clip or Relu left), close to the float model. A SiLU after a quantized Conv gets its result quantized
 * too, and runs as a table.
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
        assertClose(y[0], y[1], 0.05f);
    }

    @Test
    void aSiluOfAQuantizedValueIsQuantizedToo() throws Exception {
        Path model = dir.resolve("silu.onnx");
        OnnxWriter.write(TinyModels.silu(), model);
        Path out = dir.resolve("silu.int8.onnx");
        Quantizer.Report r = Quantizer.quantize(model, new TinyModels.Noise(16, 3, 8, 8), Quantizer.Options.defaults()
                .withSamples(16).withThreads(2), out);
        assertThat(r.quantized()).hasSize(2);
        assertThat(r.leftFloat()).containsEntry("Sigmoid 'sigmoid'", QuantPlan.FUNCTION)
                .containsEntry("Mul 'silu'", QuantPlan.FUNCTION);
        List<NodeProto> nodes = ModelProto.parseFrom(Files.readAllBytes(out)).getGraph().getNodeList();
        String siluOut = nodes.stream().filter(n -> n.getName().equals("silu")).findFirst().orElseThrow().getOutput(0);
        assertThat(nodes.stream().filter(n -> n.getInputList().contains(siluOut)).map(NodeProto::getOpType))
                .containsExactly("QuantizeLinear");
        float[] x = new float[3 * 8 * 8];
        Random rnd = new Random(6);
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextFloat();
        }
        float[][] y = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (Model m = Model.load(k == 0 ? model : out); Tensor in = Tensor.ofFloats(Shape.of(1, 3, 8, 8), x);
                 Tensor t = m.run(in)) {
                y[k] = t.toFloatArray();
                if (k == 1) {
                    assertThat(m.graph().nodes().stream().map(Node::opType)).contains("QConv", "QLookup")
                            .doesNotContain("Sigmoid", "Mul");
                }
            }
        }
        // the table gives what the QDQ graph run op by op gives; both near the float model (a pooled 3-output head
        // magnifies the quantization error: 0.2 of 1 here)
        try (Model m = Model.load(Files.readAllBytes(out), Model.Options.defaults().withOptimize(false));
             Tensor in = Tensor.ofFloats(Shape.of(1, 3, 8, 8), x); Tensor t = m.run(in)) {
            assertClose(t.toFloatArray(), y[1], 1e-3f);
        }
        assertClose(y[0], y[1], 0.3f);
    }

    private static void assertClose(float[] want, float[] got, float relative) {
        float max = 0;
        for (float v : want) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i] - want[i])).as("output %d", i).isLessThanOrEqualTo(relative * max);
        }
    }
}
