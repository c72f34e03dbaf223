package dev.tandem.runtime.plan;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A convolution with a fused residual writes its output over the residual when nothing reads the residual later
 * (one buffer, no copy), and into a buffer of its own when something does; both give the unfused graph's results.
 * Shapes: a 1×1 convolution (the GEMM's in-place B path), a 3×3 one (implicit GEMM), one and two threads, a
 * residual chain (the output written in place is itself the next block's residual), and a residual that is also
 * the convolution's input (never written over: the convolution reads it while it writes).
 */
class InPlaceResidualTest {
    private static TensorProto constant(String name, Random r, int... dims) {
        return TestModels.gaussian(name, r, 0.3f, dims);
    }

    /**
     * x → Conv k×k → Relu → r0; then {@code blocks} times: r → Conv → Relu → Conv → + r → Relu → next r (a
     * ResNet basic block; {@code sameInput}: r → Conv → + r, the residual also the convolution's input); y the last
     * r. {@code keepFirst}: r0 is also a graph output, so no block may write over it.
     */
    private static ModelProto residualChain(int c, int hw, int k, int blocks, boolean keepFirst,
                                            boolean sameInput) {
        Random r = new Random(c * 131L + hw * 7L + k);
        GraphProto.Builder g = GraphProto.newBuilder().setName("g")
                .addInput(TestModels.floatInput("x", 1, c, hw, hw))
                .addOutput(TestModels.floatInput("y", 1, c, hw, hw));
        for (int b = 0; b <= 2 * blocks; b++) {
            g.addInitializer(constant("w" + b, r, c, c, k, k)).addInitializer(constant("b" + b, r, c));
        }
        g.addNode(conv("x", 0, "c0", k)).addNode(TestModels.node("Relu", "relu0", new String[] {"c0"}, "r0"));
        for (int b = 1; b <= blocks; b++) {
            String in = "r" + (b - 1), mid = in;
            if (!sameInput) {
                g.addNode(conv(in, 2 * b - 1, "a" + b, k));
                g.addNode(TestModels.node("Relu", "mrelu" + b, new String[] {"a" + b}, "m" + b));
                mid = "m" + b;
            }
            g.addNode(conv(mid, 2 * b, "c" + b, k));
            g.addNode(TestModels.node("Add", "add" + b, new String[] {"c" + b, in}, "s" + b));
            g.addNode(TestModels.node("Relu", "relu" + b, new String[] {"s" + b}, b == blocks ? "y" : "r" + b));
        }
        if (keepFirst) {
            g.addOutput(TestModels.floatInput("r0", 1, c, hw, hw));
        }
        return TestModels.model(g.build(), 13);
    }

    private static dev.tandem.runtime.onnx.proto.Onnx.NodeProto conv(String in, int b, String out, int k) {
        return TestModels.node("Conv", "conv" + b, new String[] {in, "w" + b, "b" + b}, out).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS)
                        .addInts(k / 2).addInts(k / 2).addInts(k / 2).addInts(k / 2))
                .build();
    }

    @ParameterizedTest
    @CsvSource({"1, 48, 40, 1, false, false", "1, 48, 40, 1, true, false", "3, 8, 12, 2, false, false",
        "3, 8, 12, 1, true, false", "1, 24, 30, 2, true, false", "1, 48, 40, 2, false, true",
        "3, 8, 12, 1, false, true"})
    void residualIsWrittenOverOnlyWhenNothingReadsItLater(int k, int c, int hw, int threads, boolean keepFirst,
                                                           boolean sameInput) {
        ModelProto m = residualChain(c, hw, k, 3, keepFirst, sameInput);
        Random r = new Random(3);
        float[] x = new float[c * hw * hw];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[][] y = new float[2][];
        for (int opt = 0; opt < 2; opt++) {
            Model.Options o = Model.Options.defaults().withThreads(threads).withOptimize(opt == 1);
            try (Model model = Model.load(m.toByteArray(), o); Tensor in = Tensor.ofFloats(Shape.of(1, c, hw, hw), x)) {
                if (opt == 1) {
                    checkPlacement(model.plan(Map.of("x", in.shape())), keepFirst, sameInput);
                }
                Map<String, Tensor> out = model.run(Map.of("x", in));
                y[opt] = out.get("y").toFloatArray();
                out.values().forEach(Tensor::close);
            }
        }
        for (int i = 0; i < y[0].length; i++) {
            assertThat(y[1][i]).as("element %d", i).isCloseTo(y[0][i], Offset.offset(1e-4f * (1 + Math.abs(y[0][i]))));
        }
    }

    /**
     * Each FusedConv with a residual: its output shares the residual's buffer, unless the residual is r0 kept as a
     * graph output, or is also the convolution's input.
     */
    private static void checkPlacement(ExecutionPlan plan, boolean keepFirst, boolean sameInput) {
        List<ExecutionPlan.PlannedValue> values = plan.values();
        int fused = 0, shared = 0;
        for (ExecutionPlan.PlannedStep st : plan.plannedSteps()) {
            if (!st.node().opType().equals("FusedConv") || st.inputs().length < 4 || st.inputs()[3] < 0) {
                continue;
            }
            fused++;
            ExecutionPlan.PlannedValue z = values.get(st.inputs()[3]), out = values.get(st.outputs()[0]);
            assertThat(out.placement()).isEqualTo(ExecutionPlan.Placement.ARENA);
            boolean zIsKept = st.node().input(3).name().equals("r0") && keepFirst || sameInput;
            if (z.placement() == ExecutionPlan.Placement.ARENA && z.offset() == out.offset()) {
                shared++;
                assertThat(zIsKept).as("a residual read later is not written over").isFalse();
            } else {
                assertThat(zIsKept).as("a residual read by nothing later is written over").isTrue();
            }
        }
        assertThat(fused).as("the optimizer fused each Conv + Add").isEqualTo(3);
        assertThat(shared).isEqualTo(sameInput ? 0 : keepFirst ? 2 : 3);
    }
}
