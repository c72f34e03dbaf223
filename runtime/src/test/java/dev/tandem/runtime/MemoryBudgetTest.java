package dev.tandem.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model.Options.maxMemory: weights plus one run's planned arena must fit, checked per input signature. */
class MemoryBudgetTest {
    private static final int K = 64;
    private static final long WEIGHT_BYTES = K * K * 4L;

    @TempDir
    Path dir;

    /** x[batch, 64] × W[64, 64] → Relu → y: 16 KiB of weights and an arena that grows with the batch. */
    private static byte[] matMulModel() {
        TensorProto.Builder w = TensorProto.newBuilder().setName("W").addDims(K).addDims(K)
                .setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (int i = 0; i < K * K; i++) {
            w.addFloatData((i % 7) * 0.01f);
        }
        GraphProto g = GraphProto.newBuilder().setName("mm")
                .addInput(TestModels.floatInput("x", -1, K)).addOutput(TestModels.floatInput("y", -1, K))
                .addInitializer(w)
                .addNode(TestModels.node("MatMul", "mm", new String[] {"x", "W"}, "h"))
                .addNode(TestModels.node("Relu", "r", new String[] {"h"}, "y")).build();
        return TestModels.model(g, 13).toByteArray();
    }

    private static long arenaAt(int batch) {
        try (Model m = Model.load(matMulModel(), Model.Options.defaults().withThreads(1))) {
            assertThat(m.weightBytes()).isEqualTo(WEIGHT_BYTES);
            return m.plan(Map.of("x", Shape.of(batch, K))).arenaBytes();
        }
    }

    private static void runBatch(Model m, int batch) {
        try (Tensor x = Tensor.allocate(dev.tandem.runtime.tensor.DType.FLOAT32, Shape.of(batch, K));
             Tensor y = m.run(x)) {
            assertThat(y.shape()).isEqualTo(Shape.of(batch, K));
        }
    }

    @Test
    void aBudgetOfExactlyWeightsPlusArenaRunsAndOneByteLessIsRefusedWithBothNumbers() {
        long needed = WEIGHT_BYTES + arenaAt(8);
        try (Model m = Model.load(matMulModel(), Model.Options.defaults().withThreads(1).withMaxMemory(needed))) {
            runBatch(m, 8);
            assertThat(m.maxMemory()).isEqualTo(needed);
        }
        try (Model m = Model.load(matMulModel(), Model.Options.defaults().withThreads(1).withMaxMemory(needed - 1))) {
            MemoryBudgetExceededException e = catchThrowableOfType(MemoryBudgetExceededException.class,
                    () -> runBatch(m, 8));
            assertThat(e.needed()).isEqualTo(needed);
            assertThat(e.weightBytes()).isEqualTo(WEIGHT_BYTES);
            assertThat(e.arenaBytes()).isEqualTo(needed - WEIGHT_BYTES);
            assertThat(e.budget()).isEqualTo(needed - 1);
            assertThat(e.getMessage()).contains("needs " + needed + " bytes", "budget is " + (needed - 1) + " bytes",
                    "weights " + WEIGHT_BYTES, "x [8, 64]", "at least " + needed);
            // plan(), which inspect and bench use, applies the same check.
            assertThatThrownBy(() -> m.plan(Map.of("x", Shape.of(8, K))))
                    .isInstanceOf(MemoryBudgetExceededException.class);
        }
    }

    @Test
    void theBudgetIsCheckedForTheBatchInQuestion() {
        long needed4 = WEIGHT_BYTES + arenaAt(4);
        assertThat(arenaAt(64)).isGreaterThan(arenaAt(4));
        try (Model m = Model.load(matMulModel(), Model.Options.defaults().withThreads(1).withMaxMemory(needed4))) {
            runBatch(m, 1);
            runBatch(m, 4);
            assertThatThrownBy(() -> runBatch(m, 64)).isInstanceOf(MemoryBudgetExceededException.class)
                    .hasMessageContaining("x [64, 64]");
            runBatch(m, 4); // a refused signature leaves the model usable
        }
    }

    @Test
    void weightsAloneOverTheBudgetRefuseTheLoad() {
        MemoryBudgetExceededException e = catchThrowableOfType(MemoryBudgetExceededException.class,
                () -> Model.load(matMulModel(), Model.Options.defaults().withThreads(1).withMaxMemory(1000)));
        assertThat(e.needed()).isEqualTo(WEIGHT_BYTES);
        assertThat(e.arenaBytes()).isZero();
        assertThat(e.budget()).isEqualTo(1000);
        assertThat(e.getMessage()).contains("weights alone need " + WEIGHT_BYTES + " bytes (16.0 KiB)",
                "budget is 1000 bytes", "tandem quantize");
    }

    @Test
    void noBudgetMeansNoCheckAndNegativeBudgetsAreRefused() {
        try (Model m = Model.load(matMulModel(), Model.Options.defaults().withThreads(1))) {
            assertThat(m.maxMemory()).isZero();
            runBatch(m, 256);
        }
        assertThatThrownBy(() -> Model.Options.defaults().withMaxMemory(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxMemory must be >= 0");
    }

    @Test
    void classifierOptionsCarryTheBudgetToTheModel() throws Exception {
        Path f = dir.resolve("mm.onnx");
        Files.write(f, TestModels.relu(-1, 3, 8, 8).toByteArray());
        try (Classifier c = Classifier.load(f, Classifier.Options.defaults().withMaxMemory(123_456))) {
            assertThat(c.model().maxMemory()).isEqualTo(123_456);
        }
    }

    @Test
    void memorySizesParseLikeXmx() {
        assertThat(MemorySize.parse("1048576")).isEqualTo(1L << 20);
        assertThat(MemorySize.parse("512k")).isEqualTo(512L << 10);
        assertThat(MemorySize.parse("64m")).isEqualTo(64L << 20);
        assertThat(MemorySize.parse("64M")).isEqualTo(64L << 20);
        assertThat(MemorySize.parse(" 64 MiB ")).isEqualTo(64L << 20);
        assertThat(MemorySize.parse("64mb")).isEqualTo(64L << 20);
        assertThat(MemorySize.parse("1g")).isEqualTo(1L << 30);
        assertThat(MemorySize.parse("2T")).isEqualTo(2L << 40);
        assertThat(MemorySize.parse("100b")).isEqualTo(100);
        for (String bad : new String[] {"", "m", "1.5g", "-1", "64q", "64 m m", "0x10", "ib", "10ib"}) {
            assertThatThrownBy(() -> MemorySize.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "' is not a memory size").hasMessageContaining("64m");
        }
        assertThatThrownBy(() -> MemorySize.parse("0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("above 0");
        assertThatThrownBy(() -> MemorySize.parse("99999999999999999999"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too large");
        assertThatThrownBy(() -> MemorySize.parse("9000000000t"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too large");
        assertThat(MemorySize.describe(11_811_160)).isEqualTo("11811160 bytes (11.3 MiB)");
        assertThat(MemorySize.human(512)).isEqualTo("512 B");
    }
}
