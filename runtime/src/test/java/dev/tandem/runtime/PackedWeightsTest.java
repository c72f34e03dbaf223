package dev.tandem.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Model.Options.keepWeights: by default a weight only packed convolutions read is freed once packed, packed weights
 * are shared by every plan, and the results are those of a model that keeps its weights.
 */
class PackedWeightsTest {
    private static final int C = 64;

    /** A float input [batch, C, height, width], each dimension symbolic with its own name. */
    private static ValueInfoProto input(String name) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(C))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("height"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("width"));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static TensorProto weights(String name, long seed, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        long n = 1;
        for (long d : dims) {
            t.addDims(d);
            n *= d;
        }
        Random r = new Random(seed);
        for (long i = 0; i < n; i++) {
            t.addFloatData((float) (r.nextGaussian() * 0.05));
        }
        return t.build();
    }

    private static NodeProto conv(String name, String x, String w, String b, String y, String autoPad) {
        NodeProto.Builder n = TestModels.node("Conv", name, b == null ? new String[] {x, w} : new String[] {x, w, b},
                y).toBuilder();
        if (autoPad == null) {
            n.addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS)
                    .addInts(1).addInts(1).addInts(1).addInts(1));
        } else {
            n.addAttribute(AttributeProto.newBuilder().setName("auto_pad")
                    .setType(AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8(
                            autoPad)));
        }
        return n.build();
    }

    /**
     * x → Conv(W1, B1) → Relu → Conv(W2) → y; with {@code sharedW2}, W2 · z is a second output (a reader that
     * needs the graph's copy, z an input so that it cannot be folded at load). 64 channels: at 16×16 the 3×3 convolutions take Winograd.
     */
    private static byte[] model(String autoPad, boolean sharedW2) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("convs")
                .addInput(input("x")).addOutput(input("y"))
                .addInitializer(weights("W1", 1, C, C, 3, 3)).addInitializer(weights("B1", 2, C))
                .addInitializer(weights("W2", 3, C, C, 3, 3))
                .addNode(conv("c1", "x", "W1", "B1", "h", autoPad))
                .addNode(TestModels.node("Relu", "r", new String[] {"h"}, "a"))
                .addNode(conv("c2", "a", "W2", null, "y", autoPad));
        if (sharedW2) {
            g.addInput(TestModels.floatInput("z", 1))
                    .addNode(TestModels.node("Mul", "scale", new String[] {"W2", "z"}, "s"))
                    .addOutput(TestModels.floatInput("s", C, C, 3, 3));
        }
        return TestModels.model(g.build(), 13).toByteArray();
    }

    private static Tensor image(int n, int h, int w, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n * C * h * w];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(Shape.of(n, C, h, w), v);
    }

    private static float[] run(Model m, int n, int h, int w) {
        try (Tensor x = image(n, h, w, 7L * n + h)) {
            Map<String, Tensor> out = m.run(Map.of("x", x));
            try {
                return out.get("y").toFloatArray();
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
    }

    private static Tensor constant(Model m, String name) {
        Value v = m.graph().find(name);
        assertThat(v).isNotNull();
        assertThat(v.isConstant()).isTrue();
        return v.constant();
    }

    private static void assertClose(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        float scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        assertThat(scale).isGreaterThan(0f);
        for (int i = 0; i < actual.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("element %d", i).isLessThanOrEqualTo(1e-5f * scale);
        }
    }

    /** x [batch, K] → Gemm(W [N, K], transB = 1, bias) → y: a classifier as PyTorch exports it. */
    private static byte[] classifier(int k, int n) {
        NodeProto gemm = TestModels.node("Gemm", "fc", new String[] {"x", "W", "b"}, "y").toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT)
                        .setI(1)).build();
        GraphProto g = GraphProto.newBuilder().setName("fc")
                .addInput(TestModels.floatInput("x", -1, k)).addOutput(TestModels.floatInput("y", -1, n))
                .addInitializer(weights("W", 11, n, k)).addInitializer(weights("b", 12, n))
                .addNode(gemm).build();
        return TestModels.model(g, 13).toByteArray();
    }

    @Test
    void classifierWeightsAreLaidOutOnceForEveryBatchSizeAndTheGraphCopyFreed() {
        int k = 200, n = 70;
        byte[] bytes = classifier(k, n);
        Model.Options o = Model.Options.defaults().withThreads(2);
        try (Model lean = Model.load(bytes, o); Model kept = Model.load(bytes, o.withKeepWeights(true))) {
            long stored = lean.weightBytes();
            for (int batch : new int[] {1, 3, 4, 5, 9, 33}) {
                Random r = new Random(batch);
                float[] x = new float[batch * k];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] got, want;
                try (Tensor in = Tensor.ofFloats(Shape.of(batch, k), x); Tensor y = lean.run(in)) {
                    got = y.toFloatArray();
                }
                try (Tensor in = Tensor.ofFloats(Shape.of(batch, k), x); Tensor y = kept.run(in)) {
                    want = y.toFloatArray();
                }
                // against the plain definition, in double
                float[] w = kept.graph().find("W").constant().toFloatArray();
                float[] b = kept.graph().find("b").constant().toFloatArray();
                double[] ref = new double[batch * n];
                for (int i = 0; i < batch; i++) {
                    for (int j = 0; j < n; j++) {
                        double acc = b[j];
                        for (int q = 0; q < k; q++) {
                            acc += (double) x[i * k + q] * w[j * k + q];
                        }
                        ref[i * n + j] = acc;
                    }
                }
                for (int i = 0; i < ref.length; i++) {
                    assertThat((double) got[i]).as("batch %d element %d", batch, i)
                            .isCloseTo(ref[i], org.assertj.core.data.Offset.offset(1e-4 * (1 + Math.abs(ref[i]))));
                }
                assertThat(got).containsExactly(want);
            }
            assertThat(constant(lean, "W").isClosed()).as("read only through the laid-out copy").isTrue();
            assertThat(constant(kept, "W").isClosed()).isFalse();
            // held once: the panels (n rounded up to whole panels) instead of the graph's copy
            assertThat(lean.weightBytes()).isLessThan(stored + 4L * n * k);
            assertThat(kept.weightBytes()).isGreaterThanOrEqualTo(stored + 4L * n * k);
        }
    }

    @Test
    void theMemoryBudgetCountsWeightsAsPreparedNotAsStored() {
        byte[] bytes = model(null, false);
        Model.Options o = Model.Options.defaults().withThreads(2);
        long graphBytes = 4L * (2 * C * C * 9 + C);
        long held;
        long arena;
        try (Model m = Model.load(bytes, o)) {
            assertThat(m.weightBytes()).as("before any plan: the graph's constants").isEqualTo(graphBytes);
            arena = m.plan(Map.of("x", Shape.of(1, C, 16, 16))).arenaBytes();
            held = m.weightBytes();
            // 8x8 tiles of 64 channels take Winograd: 16 transformed values per 9 weights
            assertThat(held).isGreaterThanOrEqualTo(graphBytes);
        }
        try (Model m = Model.load(bytes, o.withMaxMemory(held + arena))) {
            assertThat(run(m, 1, 16, 16)).isNotEmpty();
        }
        if (held > graphBytes) {
            try (Model m = Model.load(bytes, o.withMaxMemory(held + arena - 1))) {
                MemoryBudgetExceededException e = org.assertj.core.api.Assertions.catchThrowableOfType(
                        MemoryBudgetExceededException.class, () -> run(m, 1, 16, 16));
                assertThat(e.weightBytes()).isEqualTo(held);
                assertThat(e.needed()).isEqualTo(held + arena);
            }
        }
    }

    @Test
    void weightsOnlyConvolutionsReadAreFreedOncePackedAndEveryPlanStillMatchesAModelThatKeepsThem() {
        byte[] bytes = model(null, false);
        Model.Options o = Model.Options.defaults().withThreads(2);
        try (Model lean = Model.load(bytes, o); Model kept = Model.load(bytes, o.withKeepWeights(true))) {
            assertThat(constant(lean, "W1").isClosed()).isFalse();
            float[] first = run(lean, 1, 16, 16);
            assertThat(constant(lean, "W1").isClosed()).isTrue();
            assertThat(constant(lean, "B1").isClosed()).isTrue();
            assertThat(constant(lean, "W2").isClosed()).isTrue();
            // shape and type stay known; the weights counted are those held: prepared, not the freed graph copies
            // (the model that keeps them holds those, and its direct-path packing beside the Winograd weights)
            assertThat(constant(lean, "W1").shape()).isEqualTo(Shape.of(C, C, 3, 3));
            run(kept, 1, 16, 16);
            long graphBytes = 4L * (2 * C * C * 9 + C);
            assertThat(kept.weightBytes() - lean.weightBytes()).isGreaterThanOrEqualTo(graphBytes);
            assertThat(lean.weightBytes()).as("prepared at least as large as what was freed")
                    .isGreaterThanOrEqualTo(graphBytes);

            assertClose(first, run(kept, 1, 16, 16));
            assertThat(constant(kept, "W1").isClosed()).isFalse();
            // new plans after the release: another batch, and a size where the kept model takes the direct path
            assertClose(run(lean, 3, 16, 16), run(kept, 3, 16, 16));
            assertClose(run(lean, 1, 6, 9), run(kept, 1, 6, 9));
            assertClose(run(lean, 1, 16, 16), first);
        }
    }

    @Test
    void threadsPlanningBatchSizesAtOnceGetTheResultsOfAModelThatKeepsItsWeights() throws Exception {
        byte[] bytes = model(null, false);
        Model.Options o = Model.Options.defaults().withThreads(2);
        int[] batches = {1, 2, 3};
        float[][] want = new float[batches.length][];
        try (Model kept = Model.load(bytes, o.withKeepWeights(true))) {
            for (int i = 0; i < batches.length; i++) {
                want[i] = run(kept, batches[i], 16, 16);
            }
        }
        try (Model lean = Model.load(bytes, o);
             java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(6)) {
            java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int first = t;
                done.add(threads.submit(() -> {
                    for (int round = 0; round < 4; round++) {
                        int i = (first + round) % batches.length;
                        assertClose(run(lean, batches[i], 16, 16), want[i]);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
            assertThat(constant(lean, "W2").isClosed()).isTrue();
        }
    }

    /** x [batch, 64, h, w] → 1×1 Conv to 96 channels → Relu → 3×3 depthwise Conv (pads 1) → y: one fused block. */
    private static byte[] expandDepthwise() {
        int m = 96;
        NodeProto dw = conv("dw", "e", "W2", "B2", "y", null).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT)
                        .setI(m)).build();
        GraphProto g = GraphProto.newBuilder().setName("block")
                .addInput(input("x")).addOutput(ValueInfoProto.newBuilder().setName("y").setType(TypeProto
                        .newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(TensorProto.DataType.FLOAT_VALUE))))
                .addInitializer(weights("W1", 4, m, C, 1, 1)).addInitializer(weights("B1", 5, m))
                .addInitializer(weights("W2", 6, m, 1, 3, 3)).addInitializer(weights("B2", 7, m))
                .addNode(TestModels.node("Conv", "expand", new String[] {"x", "W1", "B1"}, "h"))
                .addNode(TestModels.node("Relu", "r", new String[] {"h"}, "e"))
                .addNode(dw).build();
        return TestModels.model(g, 13).toByteArray();
    }

    @Test
    void fusedExpandDepthwiseBlocksFreeTheirWeightsAndServeEveryLaterPlan() {
        byte[] bytes = expandDepthwise();
        Model.Options o = Model.Options.defaults().withThreads(2);
        try (Model lean = Model.load(bytes, o); Model kept = Model.load(bytes, o.withKeepWeights(true))) {
            assertThat(lean.graph().nodes()).anyMatch(n -> n.opType().equals("FusedExpandDepthwise"));
            // 96×80 planes: the first plan cuts the 96 channels into blocks of 12
            float[] first = run(lean, 1, 96, 80);
            for (String w : new String[] {"W1", "B1", "W2", "B2"}) {
                assertThat(constant(lean, w).isClosed()).as(w).isTrue();
                assertThat(constant(kept, w).isClosed()).as(w).isFalse();
            }
            assertClose(first, run(kept, 1, 96, 80));
            // later plans reuse those blocks: another batch, smaller images (which alone would take one block)
            assertClose(run(lean, 2, 96, 80), run(kept, 2, 96, 80));
            assertClose(run(lean, 1, 40, 40), run(kept, 1, 40, 40));
            assertClose(run(lean, 3, 7, 9), run(kept, 3, 7, 9));
        }
    }

    @Test
    void aWeightAnotherOpAlsoReadsIsKept() {
        try (Model m = Model.load(model(null, true), Model.Options.defaults().withThreads(1));
             Tensor x = image(1, 16, 16, 3); Tensor z = Tensor.ofFloats(Shape.of(1), new float[] {2f})) {
            float[] w2 = null;
            for (int round = 0; round < 2; round++) {
                Map<String, Tensor> out = m.run(Map.of("x", x, "z", z));
                try {
                    assertThat(constant(m, "W1").isClosed()).isTrue();
                    assertThat(constant(m, "W2").isClosed()).isFalse();
                    w2 = constant(m, "W2").toFloatArray();
                    float[] s = out.get("s").toFloatArray();
                    for (int i = 0; i < s.length; i++) {
                        assertThat(s[i]).isEqualTo(2f * w2[i]);
                    }
                } finally {
                    out.values().forEach(Tensor::close);
                }
            }
            assertThat(w2).hasSize(C * C * 9);
        }
    }

    @Test
    void convolutionsWhosePaddingDependsOnTheImageSizeKeepTheirWeightsAndPlanEverySize() {
        byte[] bytes = model("SAME_UPPER", false);
        Model.Options o = Model.Options.defaults().withThreads(2);
        try (Model lean = Model.load(bytes, o); Model kept = Model.load(bytes, o.withKeepWeights(true))) {
            assertClose(run(lean, 1, 16, 16), run(kept, 1, 16, 16));
            assertThat(constant(lean, "W1").isClosed()).isFalse();
            assertClose(run(lean, 2, 9, 11), run(kept, 2, 9, 11));
        }
    }

    @Test
    void aDirectlyBuiltPlanOfAnotherModelNeverFreesWeights() {
        try (Model m = Model.load(model(null, false), Model.Options.defaults().withThreads(1))) {
            try (dev.tandem.runtime.plan.ExecutionPlan p = dev.tandem.runtime.plan.ExecutionPlan.build(m.graph(),
                    dev.tandem.runtime.ops.OpRegistry.standard(), new dev.tandem.runtime.kernels.Sgemm(m.pool()),
                    new dev.tandem.runtime.plan.GreedyBySizePlanner(), new DType[] {DType.FLOAT32},
                    new Shape[] {Shape.of(1, C, 8, 8)}, null)) {
                assertThat(p.arenaBytes()).isPositive();
            }
            assertThat(constant(m, "W1").isClosed()).isFalse();
        }
    }
}
