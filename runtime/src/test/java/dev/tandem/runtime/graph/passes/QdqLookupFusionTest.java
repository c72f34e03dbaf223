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
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code DequantizeLinear → element-wise function → QuantizeLinear} becomes one {@code dev.tandem.QLookup} whose
 * output is the unfused graph's within one quantization step: SiLU, Sigmoid, HardSwish, Tanh, Clip, and a chain with
 * scalar constants, uint8 and int8; what it cannot tabulate stays as it was.
 */
@Tag("simd")
class QdqLookupFusionTest {
    private static final int[] DIMS = {2, 3, 9, 11};

    private static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private static NodeProto node(String op, String name, String[] in, String out, AttributeProto... attrs) {
        NodeProto.Builder b = TestModels.node(op, name, in, out).toBuilder();
        for (AttributeProto a : attrs) {
            b.addAttribute(a);
        }
        return b.build();
    }

    private static void scalar(GraphProto.Builder g, String name, DType t, float v) {
        try (Tensor x = Tensor.allocate(t, Shape.scalar())) {
            Elements.setDouble(x, 0, v);
            g.addInitializer(TensorCodec.encode(name, x));
        }
    }

    /** x (float) → Q → DQ ("d") → what {@code body} adds (ending in value "f") → Q → y (8-bit). */
    private static ModelProto model(boolean signed, float xs, float ys, Consumer<GraphProto.Builder> body) {
        DType t = signed ? DType.INT8 : DType.UINT8;
        GraphProto.Builder g = GraphProto.newBuilder().setName("lookup")
                .addInput(TestModels.floatInput("x", 2, 3, 9, 11));
        scalar(g, "xs", DType.FLOAT32, xs);
        scalar(g, "xz", t, signed ? -7 : 131);
        scalar(g, "ys", DType.FLOAT32, ys);
        scalar(g, "yz", t, signed ? 3 : 20);
        g.addNode(TestModels.node("QuantizeLinear", "qx", new String[] {"x", "xs", "xz"}, "xq"))
                .addNode(TestModels.node("DequantizeLinear", "dq", new String[] {"xq", "xs", "xz"}, "d"));
        body.accept(g);
        g.addNode(TestModels.node("QuantizeLinear", "qy", new String[] {"f", "ys", "yz"}, "y"))
                .addOutput(ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(signed ? 3 : 2))));
        return TestModels.model(g.build(), 14);
    }

    /** Runs unfused and fused; the fused graph holds QLookup (or not) and the outputs agree within 1. */
    private static void check(ModelProto m, boolean fuses, String what) {
        Random r = new Random(what.hashCode());
        float[] x = new float[(int) Shape.of(DIMS).size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        long[][] out = new long[2][];
        for (int k = 0; k < 2; k++) {
            Model.Options o = Model.Options.defaults().withThreads(2).withOptimize(k == 1);
            try (Model model = Model.load(m.toByteArray(), o); Tensor in = Tensor.ofFloats(Shape.of(DIMS), x);
                 Tensor y = model.run(in)) {
                out[k] = Elements.toLongs(y);
                if (k == 1) {
                    List<String> ops = model.graph().nodes().stream().map(Node::opType).toList();
                    if (fuses) {
                        assertThat(ops).as(what).contains("QLookup").doesNotContain("DequantizeLinear", "Sigmoid",
                                "Mul", "HardSwish", "Tanh", "Clip", "Add", "LeakyRelu");
                    } else {
                        assertThat(ops).as(what).doesNotContain("QLookup");
                    }
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
        assertThat(off).as("%s: elements off by one", what).isLessThanOrEqualTo(out[0].length / 50);
    }

    @Test
    void elementWiseFunctionsBecomeOneTable() {
        for (boolean signed : new boolean[] {false, true}) {
            check(model(signed, 0.05f, 0.04f, g -> g
                    .addNode(TestModels.node("Sigmoid", "sig", new String[] {"d"}, "s"))
                    .addNode(TestModels.node("Mul", "silu", new String[] {"d", "s"}, "f"))), true, "SiLU " + signed);
            check(model(signed, 0.05f, 1f / 255, g -> g
                    .addNode(TestModels.node("Sigmoid", "sig", new String[] {"d"}, "f"))), true, "Sigmoid " + signed);
            check(model(signed, 0.04f, 0.03f, g -> g
                    .addNode(TestModels.node("HardSwish", "hs", new String[] {"d"}, "f"))), true, "HardSwish");
            check(model(signed, 0.03f, 1f / 128, g -> g
                    .addNode(TestModels.node("Tanh", "tanh", new String[] {"d"}, "f"))), true, "Tanh " + signed);
            check(model(signed, 0.05f, 0.02f, g -> {
                scalar(g, "lo", DType.FLOAT32, -1f);
                g.addNode(node("Constant", "hi", new String[0], "hiv", AttributeProto.newBuilder().setName("value")
                        .setType(AttributeProto.AttributeType.TENSOR).setT(encode(1.5f)).build()));
                g.addNode(TestModels.node("Clip", "clip", new String[] {"d", "lo", "hiv"}, "f"));
            }), true, "Clip " + signed);
            check(model(signed, 0.05f, 0.1f, g -> {
                scalar(g, "two", DType.FLOAT32, 2f);
                scalar(g, "half", DType.FLOAT32, 0.5f);
                g.addNode(node("LeakyRelu", "lr", new String[] {"d"}, "a", floatAttr("alpha", 0.1f)))
                        .addNode(TestModels.node("Mul", "m", new String[] {"two", "a"}, "b"))
                        .addNode(TestModels.node("Add", "add", new String[] {"b", "half"}, "f"));
            }), true, "chain " + signed);
        }
    }

    @Test
    void whatItCannotTabulateStays() {
        // Exp is not in the list; a Mul by a per-channel tensor is not element-wise in one value
        check(model(false, 0.05f, 0.5f, g -> g.addNode(TestModels.node("Exp", "e", new String[] {"d"}, "f"))), false,
                "Exp");
        check(model(false, 0.05f, 0.05f, g -> {
            try (Tensor c = Tensor.ofFloats(Shape.of(3, 1, 1), 1f, 2f, 3f)) {
                g.addInitializer(TensorCodec.encode("perChannel", c));
            }
            g.addNode(TestModels.node("Mul", "m", new String[] {"d", "perChannel"}, "f"));
        }), false, "per-channel Mul");
        // the function's intermediate value is also read elsewhere (a graph output)
        ModelProto m = model(false, 0.05f, 0.05f, g -> g
                .addNode(TestModels.node("Sigmoid", "sig", new String[] {"d"}, "s"))
                .addNode(TestModels.node("Mul", "silu", new String[] {"d", "s"}, "f")));
        ModelProto extra = m.toBuilder().setGraph(m.getGraph().toBuilder().addOutput(TestModels.floatInput("s", DIMS[0],
                DIMS[1], DIMS[2], DIMS[3]))).build();
        try (Model model = Model.load(extra.toByteArray(), Model.Options.defaults().withThreads(2))) {
            assertThat(model.graph().nodes().stream().map(Node::opType)).doesNotContain("QLookup");
        }
    }

    private static dev.tandem.runtime.onnx.proto.Onnx.TensorProto encode(float v) {
        try (Tensor t = Tensor.ofFloats(Shape.scalar(), v)) {
            return TensorCodec.encode("", t);
        }
    }
}
