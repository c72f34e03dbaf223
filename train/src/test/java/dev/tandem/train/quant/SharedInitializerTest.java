package dev.tandem.train.quant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.onnx.OnnxReader;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Initializers read by two layers (PyTorch's exporter shares identical tensors, e.g. EfficientNet's squeeze-excite
 * biases): the quantized model's node names are unique (ONNX requires it; ONNX Runtime refused the model), a shared
 * weight is quantized once, and the model runs close to the float one.
 */
class SharedInitializerTest {
    @TempDir
    Path dir;

    @Test
    void sharedWeightsAndBiasesGiveUniqueNodeNames() throws Exception {
        Path model = dir.resolve("shared.onnx");
        OnnxWriter.write(TinyModels.sharedInitializers(), model);
        Path out = dir.resolve("shared.int8.onnx");
        Quantizer.Report r = Quantizer.quantize(model, new TinyModels.Noise(16, 3, 8, 8), Quantizer.Options.defaults()
                .withSamples(16).withThreads(2), out);
        assertThat(r.quantized()).hasSize(4);

        // the file itself: OnnxReader renames repeated node names as it reads
        Set<String> seen = new HashSet<>();
        List<String> repeated = new ArrayList<>();
        for (NodeProto n : ModelProto.parseFrom(Files.readAllBytes(out)).getGraph().getNodeList()) {
            if (!seen.add(n.getName())) {
                repeated.add(n.getName());
            }
        }
        assertThat(repeated).as("repeated node names").isEmpty();
        try (Graph q = OnnxReader.read(out)) {
            long convWeights = q.nodes().stream().filter(n -> n.opType().equals("DequantizeLinear"))
                    .filter(n -> n.input(0).isConstant() && n.input(0).constant().rank() == 4).count();
            assertThat(convWeights).as("DequantizeLinear nodes of the shared conv weight").isEqualTo(1);
        }
        float[] x = new float[3 * 8 * 8];
        Random rnd = new Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[][] y = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (Model m = Model.load(k == 0 ? model : out); Tensor in = Tensor.ofFloats(Shape.of(1, 3, 8, 8), x);
                 Tensor t = m.run(in)) {
                y[k] = t.toFloatArray();
            }
        }
        float max = 0;
        for (float v : y[0]) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < y[0].length; i++) {
            assertThat(Math.abs(y[1][i] - y[0][i])).as("output %d", i).isLessThanOrEqualTo(0.1f * max);
        }
    }
}
