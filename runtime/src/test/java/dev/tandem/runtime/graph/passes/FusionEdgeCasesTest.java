package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Fusions must give the unoptimized graph's results on the edge cases that made them refuse or fail once. */
class FusionEdgeCasesTest {
    private static TensorProto constant(String name, Random r, int... dims) {
        return TestModels.gaussian(name, r, 1f, dims);
    }

    private static float[][] runBoth(ModelProto m, int... inputDims) {
        float[][] out = new float[2][];
        Random r = new Random(5);
        float[] x = new float[(int) Shape.of(inputDims).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int k = 0; k < 2; k++) {
            Model.Options o = Model.Options.defaults().withThreads(2).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), o); Tensor in = Tensor.ofFloats(Shape.of(inputDims), x);
                 Tensor y = model.run(in)) {
                out[k] = y.toFloatArray();
            }
        }
        return out;
    }

    @Test
    void convPlusBroadcastConstantMatchesUnfused() {
        Random r = new Random(1);
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInput(TestModels.floatInput("x", 1, 2, 3, 3)).addOutput(TestModels.floatInput("y", 1, 2, 3, 3))
                .addInitializer(constant("w", r, 2, 2, 1, 1)).addInitializer(constant("b", r, 1, 2, 1, 1))
                .addNode(TestModels.node("Conv", "c", new String[] {"x", "w"}, "c"))
                .addNode(TestModels.node("Add", "a", new String[] {"c", "b"}, "s"))
                .addNode(TestModels.node("Relu", "r", new String[] {"s"}, "y")).build();
        float[][] out = runBoth(TestModels.model(g, 13), 1, 2, 3, 3);
        assertThat(out[1]).containsExactly(out[0], org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void clipWithMinAboveMaxIsNotFusedWrongly() {
        Random r = new Random(2);
        TensorProto lo = TensorProto.newBuilder().setName("lo").setDataType(1).addFloatData(5f).build();
        TensorProto hi = TensorProto.newBuilder().setName("hi").setDataType(1).addFloatData(1f).build();
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInput(TestModels.floatInput("x", 1, 2, 3, 3)).addOutput(TestModels.floatInput("y", 1, 2, 3, 3))
                .addInitializer(constant("w", r, 2, 2, 1, 1)).addInitializer(lo).addInitializer(hi)
                .addNode(TestModels.node("Conv", "c", new String[] {"x", "w"}, "c"))
                .addNode(TestModels.node("Clip", "k", new String[] {"c", "lo", "hi"}, "y")).build();
        float[][] out = runBoth(TestModels.model(g, 13), 1, 2, 3, 3);
        assertThat(out[1]).containsExactly(out[0]);
        assertThat(out[0]).containsOnly(1f);
    }

    @Test
    void largeConvTransposeRunsOnThePoolThreads() {
        Random r = new Random(3);
        NodeProto ct = TestModels.node("ConvTranspose", "ct", new String[] {"x", "w"}, "y");
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInput(TestModels.floatInput("x", 1, 64, 16, 16)).addOutput(TestModels.floatInput("y", 1, 8, 18, 18))
                .addInitializer(constant("w", r, 64, 8, 3, 3)).addNode(ct).build();
        float[][] out = runBoth(TestModels.model(g, 13), 1, 64, 16, 16);
        assertThat(out[0]).hasSize(8 * 18 * 18);
        assertThat(out[1]).containsExactly(out[0], org.assertj.core.data.Offset.offset(1e-4f));
    }
}
