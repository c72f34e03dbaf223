package dev.tandem.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ModelTest {
    private static Model load(dev.tandem.runtime.onnx.proto.Onnx.ModelProto m) {
        return Model.load(m.toByteArray(), Model.Options.defaults().withThreads(2));
    }

    private static Tensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(s, v);
    }

    @Test
    void runsAndPlansAnArenaSmallerThanAllIntermediates() {
        try (Model m = load(TestModels.reluChain(1, 4, 8, 8)); Tensor x = random(new Random(1), 1, 4, 8, 8)) {
            Tensor y = m.run(x);
            float[] in = x.toFloatArray();
            float[] out = y.toFloatArray();
            for (int i = 0; i < in.length; i++) {
                assertThat(out[i]).isEqualTo(Math.max(0f, in[i]));
            }
            y.close();
            ExecutionPlan p = m.plan(Map.of());
            // Three 1 KiB intermediates (a, b, y) of which at most two are alive at once.
            assertThat(p.arenaBytes()).isEqualTo(2 * 4 * 8 * 8 * 4);
            assertThat(p.stepCount()).isEqualTo(3);
        }
    }

    @Test
    void dynamicBatchGetsAPlanPerShape() {
        try (Model m = load(TestModels.relu(-1, 3))) {
            assertThat(m.inputs().getFirst().type().describe()).isEqualTo("float32[batch,3]");
            for (int batch : new int[] {1, 5, 2, 5}) {
                try (Tensor x = random(new Random(batch), batch, 3); Tensor y = m.run(x)) {
                    assertThat(y.shape()).isEqualTo(Shape.of(batch, 3));
                }
            }
        }
    }

    @Test
    void wrongInputsSayWhatIsExpected() {
        try (Model m = load(TestModels.relu(1, 3));
             Tensor wrongShape = random(new Random(1), 1, 4);
             Tensor wrongType = Tensor.ofLongs(Shape.of(1, 3), 1, 2, 3);
             Tensor ok = random(new Random(2), 1, 3)) {
            assertThatThrownBy(() -> m.run(Map.of("x", wrongShape))).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("float32[1,3]").hasMessageContaining("[1, 4]");
            assertThatThrownBy(() -> m.run(Map.of("x", wrongType))).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("must be float32[1,3]");
            assertThatThrownBy(() -> m.run(Map.of("nope", ok))).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("Unknown input 'nope'").hasMessageContaining("x: float32[1,3]");
            assertThatThrownBy(() -> m.run(Map.of())).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("Missing input 'x'");
        }
    }

    @Test
    void unsupportedOpsAreListedAllAtOnceWithNodeNames() {
        GraphProto g = GraphProto.newBuilder().setName("u")
                .addInput(TestModels.floatInput("x", 1, 3)).addOutput(TestModels.floatInput("y", 1, 3))
                .addNode(TestModels.node("GridSampleX", "first", new String[] {"x"}, "a"))
                .addNode(TestModels.node("Relu", "ok", new String[] {"a"}, "b"))
                .addNode(TestModels.node("FancyOp", "second", new String[] {"b"}, "y")).build();
        assertThatThrownBy(() -> load(TestModels.model(g, 13)))
                .isInstanceOfSatisfying(UnsupportedModelException.class, e -> {
                    assertThat(e.problems()).hasSize(2);
                    assertThat(e.getMessage()).contains("'GridSampleX'", "'first'", "'FancyOp'", "'second'",
                            "tandem inspect --ops");
                });
    }

    @Test
    void malformedGraphsAreTypedErrors() {
        GraphProto dangling = GraphProto.newBuilder().setName("d")
                .addInput(TestModels.floatInput("x", 1)).addOutput(TestModels.floatInput("y", 1))
                .addNode(TestModels.node("Relu", "r", new String[] {"missing"}, "y")).build();
        assertThatThrownBy(() -> load(TestModels.model(dangling, 13))).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("'missing'").hasMessageContaining("Relu 'r'");
        GraphProto cycle = GraphProto.newBuilder().setName("c")
                .addInput(TestModels.floatInput("x", 1)).addOutput(TestModels.floatInput("y", 1))
                .addNode(TestModels.node("Relu", "a", new String[] {"y"}, "z"))
                .addNode(TestModels.node("Relu", "b", new String[] {"z"}, "y")).build();
        assertThatThrownBy(() -> load(TestModels.model(cycle, 13))).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("cycle");
        assertThatThrownBy(() -> Model.load(new byte[] {1, 2, 3}, Model.Options.defaults()))
                .isInstanceOf(ModelFormatException.class);
        assertThatThrownBy(() -> Model.load(java.nio.file.Path.of("/no/such/model.onnx")))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not found");
    }

    @Test
    void oneModelServesManyThreadsAtOnce() throws Exception {
        try (Model m = load(TestModels.reluChain(-1, 64)); ExecutorService ex = Executors.newFixedThreadPool(16)) {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int seed = t;
                fs.add(ex.submit(() -> {
                    Random r = new Random(seed);
                    for (int i = 0; i < 200; i++) {
                        int batch = 1 + r.nextInt(3);
                        try (Tensor x = random(r, batch, 64); Tensor y = m.run(x)) {
                            float[] in = x.toFloatArray();
                            float[] out = y.toFloatArray();
                            for (int k = 0; k < in.length; k++) {
                                if (out[k] != Math.max(0f, in[k])) {
                                    return false;
                                }
                            }
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : fs) {
                assertThat(f.get()).isTrue();
            }
            assertThat(m.plan(Map.of("x", Shape.of(2, 64))).arenaCount()).isBetween(1, 16);
        }
    }

    @Test
    void evictedPlansStayUsableForRunsInFlight() throws Exception {
        // A one-plan cache with threads alternating batch sizes: every run evicts another thread's plan.
        Model.Options o = new Model.Options(2, null, true, dev.tandem.runtime.ops.OpRegistry.standard(), 1);
        try (Model m = Model.load(TestModels.reluChain(-1, 256).toByteArray(), o);
             ExecutorService ex = Executors.newFixedThreadPool(8)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int batch = 1 + t % 4;
                fs.add(ex.submit(() -> {
                    Random r = new Random(batch);
                    for (int i = 0; i < 100; i++) {
                        try (Tensor x = random(r, batch, 256); Tensor y = m.run(x)) {
                            assertThat(y.shape()).isEqualTo(Shape.of(batch, 256));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFails() {
        Model m = load(TestModels.relu(1, 2));
        m.close();
        m.close();
        try (Tensor x = Tensor.allocate(DType.FLOAT32, Shape.of(1, 2))) {
            assertThatThrownBy(() -> m.run(x)).isInstanceOf(IllegalStateException.class);
        }
    }
}
