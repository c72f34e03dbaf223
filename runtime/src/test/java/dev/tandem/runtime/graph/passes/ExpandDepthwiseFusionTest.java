package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * A 1×1 expansion and the depthwise convolution reading it, fused and computed a block of channels at a time,
 * must give the unfused graph's results: several blocks with a partial last one, stride 1 and 2, clamp and SiLU
 * activations on both convolutions, no expansion bias, a 5×5 kernel, a batch of two; and must not fuse when the
 * expanded tensor is also read elsewhere.
 */
class ExpandDepthwiseFusionTest {
    private static TensorProto constant(String name, Random r, int... dims) {
        return TestModels.gaussian(name, r, 0.5f, dims);
    }

    private static TensorProto scalar(String name, float v) {
        return TensorProto.newBuilder().setName(name).setDataType(1).addFloatData(v).build();
    }

    private static NodeProto depthwise(String in, String out, int m, int k, int stride) {
        int pad = k / 2;
        return TestModels.node("Conv", "dw", new String[] {in, "w2", "b2"}, out).toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT)
                        .setI(m))
                .addAttribute(AttributeProto.newBuilder().setName("strides")
                        .setType(AttributeProto.AttributeType.INTS).addInts(stride).addInts(stride))
                .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS)
                        .addInts(pad).addInts(pad).addInts(pad).addInts(pad))
                .build();
    }

    /** x → Conv 1×1 → act → depthwise k×k → act → y; {@code silu}: x·sigmoid(x), else Clip(0, 6). */
    private static ModelProto block(int n, int c, int m, int hw, int k, int stride, boolean silu, boolean bias1,
                                    boolean midIsOutput) {
        Random r = new Random(m * 31L + hw);
        int o = (hw + 2 * (k / 2) - k) / stride + 1;
        GraphProto.Builder g = GraphProto.newBuilder().setName("g")
                .addInput(TestModels.floatInput("x", n, c, hw, hw))
                .addOutput(TestModels.floatInput("y", n, m, o, o))
                .addInitializer(constant("w1", r, m, c, 1, 1)).addInitializer(constant("w2", r, m, 1, k, k))
                .addInitializer(constant("b2", r, m)).addInitializer(scalar("lo", 0f)).addInitializer(scalar("hi", 6f));
        String[] convIn = bias1 ? new String[] {"x", "w1", "b1"} : new String[] {"x", "w1"};
        if (bias1) {
            g.addInitializer(constant("b1", r, m));
        }
        g.addNode(TestModels.node("Conv", "pw", convIn, "e"));
        if (silu) {
            g.addNode(TestModels.node("Sigmoid", "s1", new String[] {"e"}, "es"));
            g.addNode(TestModels.node("Mul", "m1", new String[] {"e", "es"}, "a"));
            g.addNode(depthwise("a", "d", m, k, stride));
            g.addNode(TestModels.node("Sigmoid", "s2", new String[] {"d"}, "ds"));
            g.addNode(TestModels.node("Mul", "m2", new String[] {"d", "ds"}, "y"));
        } else {
            g.addNode(TestModels.node("Clip", "c1", new String[] {"e", "lo", "hi"}, "a"));
            g.addNode(depthwise("a", "d", m, k, stride));
            g.addNode(TestModels.node("Clip", "c2", new String[] {"d", "lo", "hi"}, "y"));
        }
        if (midIsOutput) {
            g.addOutput(TestModels.floatInput("a", n, m, hw, hw));
        }
        return TestModels.model(g.build(), 13);
    }

    /** Output y of the unoptimized and the optimized model, and how often the fusion changed the graph. */
    private static Object[] runBoth(ModelProto m, int... inputDims) {
        return runBoth(2, m, inputDims);
    }

    private static Object[] runBoth(int threads, ModelProto m, int... inputDims) {
        float[][] out = new float[2][];
        Random r = new Random(5);
        float[] x = new float[(int) Shape.of(inputDims).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int fused = 0;
        for (int k = 0; k < 2; k++) {
            Model.Options opts = Model.Options.defaults().withThreads(threads).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), opts); Tensor in = Tensor.ofFloats(Shape.of(inputDims), x)) {
                Map<String, Tensor> y = model.run(Map.of("x", in));
                out[k] = y.get("y").toFloatArray();
                y.values().forEach(Tensor::close);
                if (k == 1) {
                    fused = model.passChanges().getOrDefault("expand-depthwise-fusion", 0);
                }
            }
        }
        return new Object[] {out[0], out[1], fused};
    }

    private static void assertSame(Object[] r) {
        float[] want = (float[]) r[0], got = (float[]) r[1];
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(want[i], Offset.offset(1e-4f * (1 + Math.abs(want[i]))));
        }
    }

    @Test
    void severalBlocksStrideTwoReluSix() {
        // 50 channels of 64×64 (16 KB each): blocks of 36 and 14
        Object[] r = runBoth(block(1, 8, 50, 64, 3, 2, false, true, false), 1, 8, 64, 64);
        assertThat((int) r[2]).isEqualTo(1);
        assertSame(r);
    }

    @Test
    void batchOfTwoStrideOneSiluWithoutExpansionBias() {
        Object[] r = runBoth(block(2, 5, 50, 64, 3, 1, true, false, false), 2, 5, 64, 64);
        assertThat((int) r[2]).isEqualTo(1);
        assertSame(r);
    }

    @Test
    void oneThreadSplitsNothingAndThreeThreadsTakeBlocksOfTheirOwn() {
        // one thread: blocks one after the other; three: 2 images × 2 blocks = 4 tasks over three threads
        for (int threads : new int[] {1, 3}) {
            Object[] r = runBoth(threads, block(2, 8, 50, 64, 3, 2, false, true, false), 2, 8, 64, 64);
            assertThat((int) r[2]).isEqualTo(1);
            assertSame(r);
        }
    }

    @Test
    void strideTwoFromPhaseOrderWithSiluOddOutputsAndABatch() {
        // the input split into phase order once, the expansion computed in it: 30×30 → 15×15 (the last values not
        // a whole vector) and 18×18 → 9×9 (the narrowest output that takes it), SiLU (stored, then applied), two
        // images on three threads and on one
        for (int hw : new int[] {30, 18}) {
            for (int threads : new int[] {3, 1}) {
                Object[] r = runBoth(threads, block(2, 6, 40, hw, 3, 2, true, true, false), 2, 6, hw, hw);
                assertThat((int) r[2]).isEqualTo(1);
                assertSame(r);
            }
        }
    }

    @Test
    void fiveByFiveStrideTwoFromPhaseOrder() {
        // EfficientNet-B0's 5x5 stride-2 blocks: 40×40 → 20×20 with SiLU, two images on three threads and on one
        for (int threads : new int[] {3, 1}) {
            Object[] r = runBoth(threads, block(2, 6, 40, 40, 5, 2, true, true, false), 2, 6, 40, 40);
            assertThat((int) r[2]).isEqualTo(1);
            assertSame(r);
        }
    }

    @Test
    void fiveByFiveOnSmallPlanes() {
        Object[] r = runBoth(block(1, 6, 24, 14, 5, 1, false, true, false), 1, 6, 14, 14);
        assertThat((int) r[2]).isEqualTo(1);
        assertSame(r);
    }

    @Test
    void expandedTensorReadElsewhereIsNotFused() {
        Object[] r = runBoth(block(1, 4, 16, 20, 3, 1, false, true, true), 1, 4, 20, 20);
        assertThat((int) r[2]).isZero();
        assertSame(r);
    }
}
