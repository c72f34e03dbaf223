package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.onnx.TensorCodec;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The fused integer ops ({@code dev.tandem.QConv}, {@code QGemm}) give the unfused QDQ graph's output within one
 * quantization step, on random shapes (1, odd and prime sizes, strides, padding, groups), uint8 and int8
 * activations, per-channel and per-tensor weights, with and without bias and a Relu or Clip between the layer and
 * its QuantizeLinear; at every SIMD width.
 */
@Tag("simd")
class QdqFusionTest {
    private static TensorProto tensor(String name, DType t, int[] dims, long... v) {
        try (Tensor x = Tensor.allocate(t, Shape.of(dims))) {
            for (int i = 0; i < v.length; i++) {
                Elements.setLong(x, i, v[i]);
            }
            return TensorCodec.encode(name, x);
        }
    }

    private static TensorProto floats(String name, int[] dims, float... v) {
        try (Tensor x = Tensor.ofFloats(Shape.of(dims), v)) {
            return TensorCodec.encode(name, x);
        }
    }

    private static ValueInfoProto io(String name, int elemType, int... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    private static NodeProto withAttrs(NodeProto n, AttributeProto... attrs) {
        NodeProto.Builder b = n.toBuilder();
        for (AttributeProto a : attrs) {
            b.addAttribute(a);
        }
        return b.build();
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    /**
     * x (float) → Q → DQ → Conv or Gemm/MatMul (weights DQ of int8, per channel or not; bias DQ of int32 or float)
     * [→ Relu | Clip] → Q → y (8-bit). {@code act}: 0 none, 1 Relu, 2 Clip (min from a Constant node, as PyTorch
     * writes ReLU6, max from an initializer), 3 Clip with a negative min and no max.
     */
    private static ModelProto model(Random r, boolean conv, boolean matmul, int[] xDims, int[] wDims, boolean signed,
                                    boolean perChannel, int act, int biasKind, AttributeProto... convAttrs) {
        int elem = signed ? 3 : 2;
        int m = conv ? wDims[0] : wDims[1];
        float xs = 0.02f + r.nextFloat() * 0.03f, ys = 0.05f + r.nextFloat() * 0.1f;
        long xz = signed ? r.nextInt(20) - 10 : 100 + r.nextInt(40), yz = signed ? r.nextInt(20) - 10 : 60;
        int wc = 1;
        for (int d : wDims) {
            wc *= d;
        }
        long[] w = new long[wc];
        for (int i = 0; i < wc; i++) {
            w[i] = r.nextInt(255) - 127;
        }
        float[] ws = new float[perChannel ? m : 1];
        for (int i = 0; i < ws.length; i++) {
            ws[i] = 0.001f + r.nextFloat() * 0.01f;
        }
        GraphProto.Builder g = GraphProto.newBuilder().setName("qdq").addInput(io("x", 1, xDims))
                .addInitializer(floats("xs", new int[0], xs))
                .addInitializer(tensor("xz", signed ? DType.INT8 : DType.UINT8, new int[0], xz))
                .addInitializer(tensor("w", DType.INT8, wDims, w))
                .addInitializer(floats("ws", perChannel ? new int[] {m} : new int[0], ws))
                .addInitializer(floats("ys", new int[0], ys))
                .addInitializer(tensor("yz", signed ? DType.INT8 : DType.UINT8, new int[0], yz))
                .addNode(TestModels.node("QuantizeLinear", "qx", new String[] {"x", "xs", "xz"}, "xq"))
                .addNode(TestModels.node("DequantizeLinear", "dqx", new String[] {"xq", "xs", "xz"}, "xf"))
                .addNode(withAttrs(TestModels.node("DequantizeLinear", "dqw", new String[] {"w", "ws"}, "wf"),
                        intAttr("axis", conv ? 0 : 1)));
        String[] linIn = {"xf", "wf"};
        if (biasKind == 1) {
            long[] bq = new long[m];
            float[] bs = new float[m];
            for (int i = 0; i < m; i++) {
                bq[i] = r.nextInt(2001) - 1000;
                bs[i] = xs * ws[perChannel ? i : 0];
            }
            g.addInitializer(tensor("bq", DType.INT32, new int[] {m}, bq)).addInitializer(floats("bs", new int[] {m}, bs))
                    .addNode(withAttrs(TestModels.node("DequantizeLinear", "dqb", new String[] {"bq", "bs"}, "bf"),
                            intAttr("axis", 0)));
            linIn = new String[] {"xf", "wf", "bf"};
        } else if (biasKind == 2) {
            float[] b = new float[m];
            for (int i = 0; i < m; i++) {
                b[i] = (float) r.nextGaussian();
            }
            g.addInitializer(floats("bf", new int[] {m}, b));
            linIn = new String[] {"xf", "wf", "bf"};
        }
        String op = conv ? "Conv" : matmul ? "MatMul" : "Gemm";
        g.addNode(withAttrs(TestModels.node(op, "lin", matmul ? new String[] {"xf", "wf"} : linIn, "l"), convAttrs));
        String last = "l";
        if (act == 1) {
            g.addNode(TestModels.node("Relu", "relu", new String[] {"l"}, "lr"));
            last = "lr";
        } else if (act == 2) {
            float lo = 0.3f * r.nextFloat(), hi = lo + 0.2f + r.nextFloat();
            g.addNode(withAttrs(TestModels.node("Constant", "cmin", new String[0], "cmin"),
                    AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR)
                            .setT(floats("", new int[0], lo)).build()));
            g.addInitializer(floats("cmax", new int[0], hi));
            g.addNode(TestModels.node("Clip", "clip", new String[] {"l", "cmin", "cmax"}, "lr"));
            last = "lr";
        } else if (act == 3) {
            g.addInitializer(floats("cmin", new int[0], -0.4f));
            g.addNode(TestModels.node("Clip", "clip", new String[] {"l", "cmin"}, "lr"));
            last = "lr";
        }
        g.addNode(TestModels.node("QuantizeLinear", "qy", new String[] {last, "ys", "yz"}, "y"));
        g.addOutput(ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elem))));
        return TestModels.model(g.build(), 13);
    }

    /** {@link #model} without the last QuantizeLinear: the layer's float result is the graph's output "y". */
    private static ModelProto floatOutput(ModelProto m) {
        GraphProto.Builder g = m.getGraph().toBuilder();
        int qy = g.getNodeCount() - 1;
        String last = g.getNode(qy).getInput(0);
        g.removeNode(qy);
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (n.getOutput(0).equals(last)) {
                g.setNode(i, n.toBuilder().setOutput(0, "y").build());
            }
        }
        g.setOutput(0, ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1))));
        return m.toBuilder().setGraph(g).build();
    }

    /** Float output: unfused and fused (a QGemm with float32 output) agree to float rounding. */
    private static void checkFloat(ModelProto m, int[] xDims, long seed) {
        Random r = new Random(seed);
        float[] x = new float[(int) Shape.of(xDims).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 2);
        }
        float[][] out = new float[2][];
        for (int k = 0; k < 2; k++) {
            Model.Options o = Model.Options.defaults().withThreads(2).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), o); Tensor in = Tensor.ofFloats(Shape.of(xDims), x);
                 Tensor y = model.run(in)) {
                out[k] = y.toFloatArray();
                if (k == 1) {
                    assertThat(model.graph().nodes().stream().map(Node::opType)).contains("QGemm")
                            .doesNotContain("Gemm", "MatMul");
                }
            }
        }
        float max = 0;
        for (float v : out[0]) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < out[0].length; i++) {
            assertThat(out[1][i]).as("element %d", i).isCloseTo(out[0][i], org.assertj.core.data.Offset.offset(
                    1e-5f * max + 1e-6f));
        }
    }

    /** Runs unfused and fused; asserts the fused graph holds {@code fusedOp} and outputs agree within 1. */
    private static void check(ModelProto m, int[] xDims, String fusedOp, long seed) {
        Random r = new Random(seed);
        float[] x = new float[(int) Shape.of(xDims).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 2);
        }
        long[][] out = new long[2][];
        for (int k = 0; k < 2; k++) {
            Model.Options o = Model.Options.defaults().withThreads(2).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), o); Tensor in = Tensor.ofFloats(Shape.of(xDims), x);
                 Tensor y = model.run(in)) {
                out[k] = Elements.toLongs(y);
                if (k == 1) {
                    List<String> ops = model.graph().nodes().stream().map(Node::opType).toList();
                    assertThat(ops).as("optimized graph").contains(fusedOp)
                            .doesNotContain("Conv", "Gemm", "MatMul", "Relu", "Clip");
                }
            }
        }
        assertThat(out[1]).hasSameSizeAs(out[0]);
        int off = 0;
        for (int i = 0; i < out[0].length; i++) {
            long d = Math.abs(out[0][i] - out[1][i]);
            assertThat(d).as("element %d: unfused %d, fused %d", i, out[0][i], out[1][i]).isLessThanOrEqualTo(1);
            off += d == 0 ? 0 : 1;
        }
        assertThat(off).as("elements off by one").isLessThanOrEqualTo(Math.max(2, out[0].length / 50));
    }

    @Test
    void convMatchesUnfusedOnRandomShapes() {
        Random r = new Random(11);
        int[][] cases = { // n, c, h, w, m, k, stride, pad, group
            {1, 1, 1, 1, 1, 1, 1, 0, 1}, {1, 3, 7, 5, 5, 3, 1, 1, 1}, {2, 4, 9, 11, 6, 3, 2, 1, 2},
            {1, 8, 6, 6, 8, 3, 1, 1, 8}, {1, 5, 13, 13, 7, 1, 1, 0, 1}, {1, 32, 10, 10, 17, 3, 1, 1, 1},
            {1, 64, 5, 5, 3, 3, 1, 0, 1},
            // a reduction longer than the GEMM's depth block: written as floats, then converted
            {1, 80, 6, 6, 5, 3, 1, 1, 1},
        };
        int seed = 0;
        for (int[] c : cases) {
            for (boolean signed : new boolean[] {false, true}) {
                boolean per = (seed & 1) == 0;
                int[] xd = {c[0], c[1], c[2], c[3]};
                int[] wd = {c[4], c[1] / c[8], c[5], c[5]};
                ModelProto m = model(r, true, false, xd, wd, signed, per, (seed >> 1) % 4, seed % 3,
                        ints("strides", c[6], c[6]), ints("pads", c[7], c[7], c[7], c[7]), intAttr("group", c[8]));
                check(m, xd, "QConv", seed++);
            }
        }
    }

    @Test
    void quantizedConvolutionWeightsAreCountedAsHeldAndTheirEightBitCopyFreed() {
        int[] xd = {1, 16, 10, 10};
        int wCount = 24 * 16 * 9;
        byte[] bytes = model(new Random(5), true, false, xd, new int[] {24, 16, 3, 3}, false, true, 1, 1,
                ints("pads", 1, 1, 1, 1)).toByteArray();
        Random r = new Random(6);
        float[] x = new float[(int) Shape.of(xd).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Model.Options o = Model.Options.defaults().withThreads(2);
        try (Model keep = Model.load(bytes, o.withKeepWeights(true)); Model model = Model.load(bytes, o);
             Tensor in = Tensor.ofFloats(Shape.of(xd), x); Tensor a = keep.run(in); Tensor b = model.run(in)) {
            assertThat(Elements.toLongs(b)).isEqualTo(Elements.toLongs(a));
            long stored;
            try (Model fresh = Model.load(bytes, o)) {
                stored = fresh.weightBytes();
            }
            // the integer-valued float weights the convolution runs on (4 bytes each, packed) count as held; the
            // graph's 8-bit copy is freed unless the model keeps its weights
            assertThat(model.weightBytes()).isGreaterThanOrEqualTo(stored - wCount + 4L * wCount);
            assertThat(keep.weightBytes()).isGreaterThanOrEqualTo(stored + 4L * wCount);
            assertThat(keep.weightBytes() - model.weightBytes()).isEqualTo(wCount);
        }
    }

    @Test
    void gemmAndMatMulMatchUnfused() {
        Random r = new Random(12);
        int[][] cases = {{1, 1, 1}, {1, 7, 3}, {3, 31, 10}, {2, 300, 17}, {5, 3136, 13}};
        int seed = 100;
        for (int[] c : cases) {
            for (boolean signed : new boolean[] {false, true}) {
                boolean per = (seed & 1) == 0;
                int act = (seed >> 1) % 4;
                int[] xd = {c[0], c[1]};
                check(model(r, false, false, xd, new int[] {c[1], c[2]}, signed, per, act, seed % 3), xd, "QGemm",
                        seed++);
                check(model(r, false, true, xd, new int[] {c[1], c[2]}, signed, per, act, 0), xd, "QGemm",
                        seed++);
                // the same layer without a QuantizeLinear after it: float32 output
                checkFloat(floatOutput(model(r, false, false, xd, new int[] {c[1], c[2]}, signed, per, 0, seed % 3)),
                        xd, seed++);
            }
        }
    }
}
