package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.TestModels;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.onnx.TensorCodec;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The float islands between quantized layers run on 8-bit data: {@code DQ, DQ → Add | Mul [→ Relu | Clip] → Q} as
 * QAdd / QMul (same shapes, a per-channel or scalar operand on either side, a general broadcast) and
 * {@code DQ → GlobalAveragePool → Q} as QGlobalAveragePool, each within one quantization step of the unfused graph,
 * with uint8 and int8 on either side.
 */
@Tag("simd")
class QdqElementwiseFusionTest {
    private static void scalar(GraphProto.Builder g, String name, DType t, float v) {
        try (Tensor x = Tensor.allocate(t, Shape.scalar())) {
            Elements.setDouble(x, 0, v);
            g.addInitializer(TensorCodec.encode(name, x));
        }
    }

    private static ValueInfoProto out(String name, boolean signed) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(signed ? 3 : 2))).build();
    }

    /** Input {@code name} (float) → Q → DQ, as value {@code name + "d"}. */
    private static void quantized(GraphProto.Builder g, String name, int[] dims, boolean signed, float s, int z) {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = dims[i];
        }
        g.addInput(TestModels.floatInput(name, d));
        scalar(g, name + "s", DType.FLOAT32, s);
        scalar(g, name + "z", signed ? DType.INT8 : DType.UINT8, z);
        g.addNode(TestModels.node("QuantizeLinear", name + "q", new String[] {name, name + "s", name + "z"},
                name + "8"));
        g.addNode(TestModels.node("DequantizeLinear", name + "dq", new String[] {name + "8", name + "s", name + "z"},
                name + "d"));
    }

    /** a, b → Q → DQ → op → [act] → Q → y. */
    private static ModelProto binary(String op, String act, int[] a, int[] b, boolean sa, boolean sb, boolean sy) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("binary");
        quantized(g, "a", a, sa, 0.04f, sa ? -3 : 120);
        quantized(g, "b", b, sb, 0.03f, sb ? 5 : 100);
        scalar(g, "ys", DType.FLOAT32, op.equals("Mul") ? 0.02f : 0.05f);
        scalar(g, "yz", sy ? DType.INT8 : DType.UINT8, sy ? 2 : 90);
        g.addNode(TestModels.node(op, "op", new String[] {"ad", "bd"}, "r"));
        String last = "r";
        if (act.equals("Relu")) {
            g.addNode(TestModels.node("Relu", "act", new String[] {"r"}, "ra"));
            last = "ra";
        } else if (act.equals("Clip")) {
            scalar(g, "lo", DType.FLOAT32, -0.5f);
            scalar(g, "hi", DType.FLOAT32, 1.25f);
            g.addNode(TestModels.node("Clip", "act", new String[] {"r", "lo", "hi"}, "ra"));
            last = "ra";
        }
        g.addNode(TestModels.node("QuantizeLinear", "qy", new String[] {last, "ys", "yz"}, "y"))
                .addOutput(out("y", sy));
        return TestModels.model(g.build(), 13);
    }

    private static ModelProto pool(int[] x, boolean sx, boolean sy) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("pool");
        quantized(g, "a", x, sx, 0.05f, sx ? 7 : 30);
        scalar(g, "ys", DType.FLOAT32, 0.01f);
        scalar(g, "yz", sy ? DType.INT8 : DType.UINT8, sy ? -20 : 10);
        g.addNode(TestModels.node("GlobalAveragePool", "gap", new String[] {"ad"}, "p"))
                .addNode(TestModels.node("QuantizeLinear", "qy", new String[] {"p", "ys", "yz"}, "y"))
                .addOutput(out("y", sy));
        return TestModels.model(g.build(), 13);
    }

    /** Runs unfused and fused on seeded inputs; the fused graph holds {@code fusedOp}, outputs within 1. */
    private static void check(ModelProto m, Map<String, int[]> inputs, String fusedOp, String what) {
        long[][] out = new long[2][];
        for (int k = 0; k < 2; k++) {
            Random r = new Random(what.hashCode());
            Model.Options o = Model.Options.defaults().withThreads(2).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), o)) {
                java.util.Map<String, Tensor> in = new java.util.LinkedHashMap<>();
                inputs.forEach((name, dims) -> {
                    float[] v = new float[(int) Shape.of(dims).size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (r.nextGaussian() * 2);
                    }
                    in.put(name, Tensor.ofFloats(Shape.of(dims), v));
                });
                Map<String, Tensor> y = model.run(in);
                out[k] = Elements.toLongs(y.get("y"));
                y.values().forEach(Tensor::close);
                in.values().forEach(Tensor::close);
                if (k == 1) {
                    List<String> ops = model.graph().nodes().stream().map(Node::opType).toList();
                    assertThat(ops).as(what).contains(fusedOp).doesNotContain("Add", "Mul", "Relu", "Clip",
                            "GlobalAveragePool");
                }
            }
        }
        int off = 0;
        for (int i = 0; i < out[0].length; i++) {
            long d = Math.abs(out[0][i] - out[1][i]);
            assertThat(d).as("%s element %d: unfused %d, fused %d", what, i, out[0][i], out[1][i])
                    .isLessThanOrEqualTo(1);
            off += d == 0 ? 0 : 1;
        }
        assertThat(off).as("%s: elements off by one", what).isLessThanOrEqualTo(Math.max(1, out[0].length / 50));
    }

    @Test
    void addsAndProductsRunOnEightBitData() {
        int[] full = {2, 5, 7, 9};
        int[][][] shapes = {
            {full, full}, {full, {1, 5, 1, 1}}, {{2, 5, 1, 1}, full}, {full, {1}}, {{2, 1, 7, 9}, {1, 5, 1, 1}},
            {{5, 7, 9}, {2, 1, 1, 1}},
        };
        String[] acts = {"", "Relu", "Clip"};
        int n = 0;
        for (int[][] s : shapes) {
            for (String op : new String[] {"Add", "Mul"}) {
                boolean sa = (n & 1) == 1, sb = (n & 2) == 2, sy = (n & 4) == 4;
                String act = acts[n % 3];
                n++;
                String what = op + " " + java.util.Arrays.toString(s[0]) + " " + java.util.Arrays.toString(s[1])
                        + " " + act + " " + sa + sb + sy;
                check(binary(op, act, s[0], s[1], sa, sb, sy), Map.of("a", s[0], "b", s[1]), "Q" + op, what);
            }
        }
    }

    /** Tensors large enough to be split over the pool's threads: QAdd and QMul, and Q and DQ themselves. */
    @Test
    void largeTensorsSplitOverThreadsGiveTheSameValues() {
        int[] big = {1, 64, 40, 40};
        for (String op : new String[] {"Add", "Mul"}) {
            check(binary(op, "Relu", big, big, false, true, false), Map.of("a", big, "b", big), "Q" + op,
                    "large " + op);
        }
        GraphProto.Builder g = GraphProto.newBuilder().setName("qdq");
        quantized(g, "a", big, false, 0.04f, 120);
        g.addOutput(out("a8", false)).addOutput(ValueInfoProto.newBuilder().setName("ad").setType(TypeProto
                .newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))).build());
        float[] x = new float[64 * 40 * 40];
        Random r = new Random(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        try (Model model = Model.load(TestModels.model(g.build(), 13).toByteArray(),
                Model.Options.defaults().withThreads(2).withOptimize(false));
             Tensor in = Tensor.ofFloats(Shape.of(big), x)) {
            Map<String, Tensor> y = model.run(Map.of("a", in));
            long[] q = Elements.toLongs(y.get("a8"));
            float[] d = y.get("ad").toFloatArray();
            for (int i = 0; i < x.length; i++) {
                long want = Math.max(0, Math.min(255, (long) Math.rint(x[i] / 0.04f) + 120));
                assertThat(q[i]).as("Q element %d", i).isEqualTo(want);
                assertThat(d[i]).as("DQ element %d", i).isEqualTo((want - 120) * 0.04f);
            }
            y.values().forEach(Tensor::close);
        }
    }

    @Test
    void globalAveragePoolRunsOnEightBitData() {
        check(pool(new int[] {2, 6, 5, 7}, false, false), Map.of("a", new int[] {2, 6, 5, 7}), "QGlobalAveragePool",
                "pool uint8");
        check(pool(new int[] {1, 3, 33}, true, true), Map.of("a", new int[] {1, 3, 33}), "QGlobalAveragePool",
                "pool int8 1-D");
    }
}
