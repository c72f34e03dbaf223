package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The optimizer passes, checked on the rewritten graph structure and the folded weights. */
class PassesTest {
    private static ThreadPool pool;
    private static PassContext ctx;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
        ctx = new PassContext(OpRegistry.standard(), new Sgemm(pool));
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    // ---- helpers

    private static Graph graph(int opset) {
        Graph g = new Graph();
        g.opsets().put("", opset);
        return g;
    }

    private static Node node(Graph g, String type, List<Value> in, List<Value> out, Map<String, Attribute> attrs) {
        return g.add(new Node(type + "_" + g.nodes().size(), type, "", in, out, attrs));
    }

    private static Value input(Graph g, String name) {
        Value v = g.value(name);
        g.inputs().add(v);
        return v;
    }

    private static Value constant(Graph g, String name, Tensor t) {
        Value v = g.value(name);
        v.setConstant(t);
        return v;
    }

    private static List<String> types(Graph g) {
        return g.nodes().stream().map(Node::opType).toList();
    }

    private static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    // ---- IdentityElimination

    @Test
    void identityIsRemovedAndReadersRewired() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value a = g.value("a");
            Value b = g.value("b");
            Value y = g.value("y");
            node(g, "Relu", List.of(x), List.of(a), Map.of());
            node(g, "Identity", List.of(a), List.of(b), Map.of());
            node(g, "Dropout", List.of(b), List.of(g.value("d")), Map.of());
            node(g, "Relu", List.of(g.value("d")), List.of(y), Map.of());
            g.outputs().add(y);
            assertThat(new IdentityElimination().apply(g, ctx)).isTrue();
            assertThat(types(g)).containsExactly("Relu", "Relu");
            assertThat(g.nodes().get(1).input(0)).isSameAs(a);
        }
    }

    @Test
    void identityWritingAGraphOutputKeepsTheOutputName() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value a = g.value("a");
            Value y = g.value("y");
            Value z = g.value("z");
            node(g, "Relu", List.of(x), List.of(a), Map.of());
            node(g, "Identity", List.of(a), List.of(y), Map.of());
            node(g, "Relu", List.of(a), List.of(z), Map.of());
            g.outputs().add(y);
            g.outputs().add(z);
            new IdentityElimination().apply(g, ctx);
            assertThat(types(g)).containsExactly("Relu", "Relu");
            assertThat(g.outputs()).extracting(Value::name).containsExactly("y", "z");
            assertThat(y.producer().opType()).isEqualTo("Relu");
            assertThat(z.producer().input(0)).isSameAs(y);
        }
        // Identity of a graph input that is a graph output: the node must stay.
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value y = g.value("y");
            node(g, "Identity", List.of(x), List.of(y), Map.of());
            g.outputs().add(y);
            assertThat(new IdentityElimination().apply(g, ctx)).isFalse();
            assertThat(types(g)).containsExactly("Identity");
        }
    }

    @Test
    void trainingDropoutAndReadMasksStay() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value t = constant(g, "t", Tensor.ofLongs(Shape.scalar(), 1));
            node(g, "Dropout", Arrays.asList(x, null, t), List.of(g.value("y")), Map.of());
            node(g, "Dropout", List.of(x), List.of(g.value("z"), g.value("mask")), Map.of());
            g.outputs().addAll(List.of(g.value("y"), g.value("mask")));
            assertThat(new IdentityElimination().apply(g, ctx)).isFalse();
        }
    }

    // ---- ConstantFolding and DeadNodeElimination

    @Test
    void constantChainsAreFoldedAndDeadNodesDropped() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value w = constant(g, "w", Tensor.ofFloats(Shape.of(2, 3), 1, 2, 3, 4, 5, 6));
            Value wt = g.value("wt");
            Value shape = constant(g, "shape", Tensor.ofLongs(Shape.of(1), 6));
            Value flat = g.value("flat");
            node(g, "Transpose", List.of(w), List.of(wt), Map.of());
            node(g, "Reshape", List.of(wt, shape), List.of(flat), Map.of());
            node(g, "Concat", List.of(x, flat), List.of(g.value("y")), Map.of("axis", Attribute.of("axis", 0L)));
            node(g, "Relu", List.of(x), List.of(g.value("unused")), Map.of());
            g.outputs().add(g.value("y"));
            Map<String, Integer> changes = new Optimizer(List.of(new ConstantFolding(), new DeadNodeElimination()))
                    .run(g, ctx);
            assertThat(changes).containsKeys("constant-folding", "dead-node-elimination");
            assertThat(types(g)).containsExactly("Concat");
            assertThat(flat.constant().toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            assertThat(w.constant()).isNull(); // freed: nothing reads it any more
        }
    }

    @Test
    void largeExpansionsAreNotFolded() {
        try (Graph g = graph(13)) {
            Value s = constant(g, "s", Tensor.ofLongs(Shape.of(2), 1024, 1024));
            node(g, "ConstantOfShape", List.of(s), List.of(g.value("y")), Map.of());
            g.outputs().add(g.value("y"));
            assertThat(new ConstantFolding().apply(g, ctx)).isFalse();
            assertThat(types(g)).containsExactly("ConstantOfShape");
        }
    }

    // ---- BatchNormFolding

    @Test
    void batchNormFoldsIntoConvWithAndWithoutBias() {
        for (boolean withBias : new boolean[] {true, false}) {
            Random r = new Random(5);
            int m = 4;
            int inner = 3 * 2 * 2;
            float[] w = random(r, m * inner);
            float[] b = random(r, m);
            float[] scale = random(r, m);
            float[] shift = random(r, m);
            float[] mean = random(r, m);
            float[] var = new float[m];
            for (int i = 0; i < m; i++) {
                var[i] = (float) (0.5 + r.nextDouble());
            }
            float eps = 1e-3f;
            try (Graph g = graph(13)) {
                Value x = input(g, "x");
                List<Value> convIn = new ArrayList<>(List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(m, 3, 2, 2),
                        w))));
                if (withBias) {
                    convIn.add(constant(g, "b", Tensor.ofFloats(Shape.of(m), b)));
                }
                Value c = g.value("c");
                node(g, "Conv", convIn, List.of(c), Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1})));
                node(g, "BatchNormalization", List.of(c, constant(g, "scale", Tensor.ofFloats(Shape.of(m), scale)),
                        constant(g, "shift", Tensor.ofFloats(Shape.of(m), shift)),
                        constant(g, "mean", Tensor.ofFloats(Shape.of(m), mean)),
                        constant(g, "var", Tensor.ofFloats(Shape.of(m), var))), List.of(g.value("y")),
                        Map.of("epsilon", Attribute.of("epsilon", eps)));
                g.outputs().add(g.value("y"));
                assertThat(new BatchNormFolding().apply(g, ctx)).isTrue();
                assertThat(types(g)).containsExactly("Conv");
                Node conv = g.nodes().get(0);
                assertThat(conv.output(0).name()).isEqualTo("y");
                assertThat(conv.attribute("pads")).isNotNull();
                float[] fw = conv.input(1).constant().toFloatArray();
                float[] fb = conv.input(2).constant().toFloatArray();
                for (int i = 0; i < m; i++) {
                    double s = scale[i] / Math.sqrt((double) var[i] + eps);
                    for (int j = 0; j < inner; j++) {
                        assertThat((double) fw[i * inner + j]).isCloseTo(w[i * inner + j] * s,
                                org.assertj.core.api.Assertions.within(1e-5 * (1 + Math.abs(w[i * inner + j] * s))));
                    }
                    double eb = ((withBias ? b[i] : 0) - mean[i]) * s + shift[i];
                    assertThat((double) fb[i]).isCloseTo(eb, org.assertj.core.api.Assertions.within(1e-5 * (1
                            + Math.abs(eb))));
                }
            }
        }
    }

    @Test
    void batchNormFoldsIntoGemmWithTransB() {
        Random r = new Random(6);
        int n = 3;
        int k = 5;
        float[] bw = random(r, n * k);
        float[] c = random(r, n);
        float[] scale = random(r, n);
        float[] shift = random(r, n);
        float[] mean = random(r, n);
        float[] var = {1, 2, 3};
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value gy = g.value("g");
            node(g, "Gemm", List.of(x, constant(g, "B", Tensor.ofFloats(Shape.of(n, k), bw)),
                    constant(g, "C", Tensor.ofFloats(Shape.of(n), c))), List.of(gy),
                    Map.of("transB", Attribute.of("transB", 1L), "beta", Attribute.of("beta", 0.5f)));
            node(g, "BatchNormalization", List.of(gy, constant(g, "s", Tensor.ofFloats(Shape.of(n), scale)),
                    constant(g, "t", Tensor.ofFloats(Shape.of(n), shift)),
                    constant(g, "m", Tensor.ofFloats(Shape.of(n), mean)),
                    constant(g, "v", Tensor.ofFloats(Shape.of(n), var))), List.of(g.value("y")), Map.of());
            g.outputs().add(g.value("y"));
            assertThat(new BatchNormFolding().apply(g, ctx)).isTrue();
            Node gemm = g.nodes().get(0);
            assertThat(types(g)).containsExactly("Gemm");
            assertThat(gemm.attribute("beta").value()).isEqualTo(1f);
            float[] fb = gemm.input(1).constant().toFloatArray();
            float[] fc = gemm.input(2).constant().toFloatArray();
            for (int i = 0; i < n; i++) {
                double s = scale[i] / Math.sqrt(var[i] + 1e-5);
                for (int j = 0; j < k; j++) {
                    assertThat((double) fb[i * k + j]).isCloseTo(bw[i * k + j] * s,
                            org.assertj.core.api.Assertions.within(1e-5));
                }
                assertThat((double) fc[i]).isCloseTo(0.5 * c[i] * s - mean[i] * s + shift[i],
                        org.assertj.core.api.Assertions.within(1e-5));
            }
        }
    }

    @Test
    void batchNormStaysWhenTheConvOutputHasAnotherReader() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value c = g.value("c");
            node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2))), List.of(c),
                    Map.of());
            List<Value> p = new ArrayList<>(List.of(c));
            for (String s : List.of("s", "t", "m", "v")) {
                p.add(constant(g, s, Tensor.ofFloats(Shape.of(1), 1)));
            }
            node(g, "BatchNormalization", p, List.of(g.value("y")), Map.of());
            node(g, "Relu", List.of(c), List.of(g.value("z")), Map.of());
            g.outputs().addAll(List.of(g.value("y"), g.value("z")));
            assertThat(new BatchNormFolding().apply(g, ctx)).isFalse();
        }
    }

    // ---- Conv fusions

    @Test
    void convActivationsFuse() {
        for (String act : List.of("Relu", "Sigmoid", "HardSwish", "Clip", "SiLU")) {
            try (Graph g = graph(13)) {
                Value x = input(g, "x");
                Value c = g.value("c");
                Value y = g.value("y");
                node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2))), List.of(c),
                        Map.of("strides", Attribute.of("strides", new long[] {2, 2})));
                switch (act) {
                    case "Clip" -> node(g, "Clip", Arrays.asList(c, constant(g, "lo", Tensor.ofFloats(Shape.scalar(), 0)),
                            constant(g, "hi", Tensor.ofFloats(Shape.scalar(), 6))), List.of(y), Map.of());
                    case "SiLU" -> {
                        Value s = g.value("s");
                        node(g, "Sigmoid", List.of(c), List.of(s), Map.of());
                        node(g, "Mul", List.of(s, c), List.of(y), Map.of());
                    }
                    default -> node(g, act, List.of(c), List.of(y), Map.of());
                }
                g.outputs().add(y);
                assertThat(new ConvActivationFusion().apply(g, ctx)).as(act).isTrue();
                assertThat(g.nodes()).hasSize(1);
                Node f = g.nodes().get(0);
                assertThat(f.domain()).isEqualTo(Node.TANDEM_DOMAIN);
                assertThat(f.opType()).isEqualTo("FusedConv");
                assertThat(f.attribute("activation").value()).isEqualTo(act);
                assertThat(f.attribute("strides")).isNotNull();
                assertThat(f.output(0)).isSameAs(y);
                assertThat(f.inputs()).hasSize(2);
                assertThat(g.opset(Node.TANDEM_DOMAIN)).isEqualTo(g.opset(""));
                if (act.equals("Clip")) {
                    assertThat(f.attribute("activation_min").value()).isEqualTo(0f);
                    assertThat(f.attribute("activation_max").value()).isEqualTo(6f);
                }
            }
        }
    }

    @Test
    void clipBeforeOpset11UsesAttributesAndRunTimeBoundsBlockFusion() {
        try (Graph g = graph(9)) {
            Value x = input(g, "x");
            Value c = g.value("c");
            node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2))), List.of(c),
                    Map.of());
            node(g, "Clip", List.of(c), List.of(g.value("y")), Map.of("max", Attribute.of("max", 6f)));
            g.outputs().add(g.value("y"));
            assertThat(new ConvActivationFusion().apply(g, ctx)).isTrue();
            Node f = g.nodes().get(0);
            assertThat(f.attribute("activation_min").value()).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(f.attribute("activation_max").value()).isEqualTo(6f);
        }
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value hi = input(g, "hi");
            Value c = g.value("c");
            node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2))), List.of(c),
                    Map.of());
            node(g, "Clip", Arrays.asList(c, null, hi), List.of(g.value("y")), Map.of());
            g.outputs().add(g.value("y"));
            assertThat(new ConvActivationFusion().apply(g, ctx)).isFalse();
        }
    }

    @Test
    void residualAddThenReluBecomesOneFusedConv() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value skip = input(g, "skip");
            Value c = g.value("c");
            Value s = g.value("s");
            Value y = g.value("y");
            node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2)),
                    constant(g, "b", Tensor.ofFloats(Shape.of(1), 1))), List.of(c), Map.of());
            node(g, "Add", List.of(skip, c), List.of(s), Map.of());
            node(g, "Relu", List.of(s), List.of(y), Map.of());
            g.outputs().add(y);
            Optimizer.standard().run(g, ctx);
            assertThat(g.nodes()).hasSize(1);
            Node f = g.nodes().get(0);
            assertThat(f.opType()).isEqualTo("FusedConv");
            assertThat(f.inputs()).hasSize(4);
            assertThat(f.input(3)).isSameAs(skip);
            assertThat(f.attribute("activation").value()).isEqualTo("Relu");
            assertThat(f.output(0)).isSameAs(y);
        }
    }

    @Test
    void noFusionWithoutTheFusedConvOp() {
        try (Graph g = graph(13)) {
            Value x = input(g, "x");
            Value c = g.value("c");
            node(g, "Conv", List.of(x, constant(g, "w", Tensor.ofFloats(Shape.of(1, 1, 1, 1), 2))), List.of(c),
                    Map.of());
            node(g, "Relu", List.of(c), List.of(g.value("y")), Map.of());
            g.outputs().add(g.value("y"));
            PassContext plain = new PassContext(new OpRegistry(), ctx.gemm());
            assertThat(new ConvActivationFusion().apply(g, plain)).isFalse();
            assertThat(new ConvAddFusion().apply(g, plain)).isFalse();
        }
    }

    // ---- end to end

    @Test
    void shapeGraphGivesTheSameResultsOptimizedOrNot() {
        float[] data = random(new Random(7), 24);
        float[][] results = new float[2][];
        for (int run = 0; run < 2; run++) {
            Graph g = graph(13);
            Value x = input(g, "x");
            x.setDeclared(new dev.tandem.runtime.graph.TensorType(dev.tandem.runtime.tensor.DType.FLOAT32, 1,
                    new long[] {2, 3, 4}, null));
            Value i = g.value("i");
            Value t = g.value("t");
            Value k = constant(g, "k", Tensor.ofFloats(Shape.of(4, 3), random(new Random(8), 12)));
            Value kt = g.value("kt");
            node(g, "Identity", List.of(x), List.of(i), Map.of());
            node(g, "Transpose", List.of(i), List.of(t), Map.of("perm", Attribute.of("perm", new long[] {0, 2, 1})));
            node(g, "Unsqueeze", List.of(k, constant(g, "ax", Tensor.ofLongs(Shape.of(1), 0))), List.of(kt), Map.of());
            node(g, "Concat", List.of(t, kt), List.of(g.value("y")), Map.of("axis", Attribute.of("axis", 0L)));
            node(g, "Identity", List.of(g.value("y")), List.of(g.value("out")), Map.of());
            g.outputs().add(g.value("out"));
            try (Model m = Model.fromGraph(g, Model.Options.defaults().withPool(pool).withOptimize(run == 1));
                 Tensor in = Tensor.ofFloats(Shape.of(2, 3, 4), data)) {
                Map<String, Tensor> out = m.run(Map.of("x", in));
                assertThat(out).containsOnlyKeys("out");
                results[run] = out.get("out").toFloatArray();
                out.values().forEach(Tensor::close);
                if (run == 1) {
                    assertThat(m.graph().nodes()).extracting(Node::opType).containsExactly("Transpose", "Concat");
                    assertThat(m.graph().nodes().get(1).output(0).name()).isEqualTo("out");
                }
            }
        }
        assertThat(results[1]).containsExactly(results[0]);
    }

    @Test
    void convBnReluAddGivesTheSameResultsOptimizedOrNot() {
        Random r = new Random(9);
        int c = 4;
        float[] input = random(r, 2 * c * 5 * 5);
        float[][] results = new float[2][];
        for (int run = 0; run < 2; run++) {
            Random wr = new Random(10);
            Graph g = graph(13);
            Value x = input(g, "x");
            Value a = g.value("a");
            Value bn = g.value("bn");
            Value relu = g.value("relu");
            Value c2 = g.value("c2");
            Value bn2 = g.value("bn2");
            Value sum = g.value("sum");
            Value y = g.value("y");
            node(g, "Conv", List.of(x, constant(g, "w1", Tensor.ofFloats(Shape.of(c, c, 3, 3), random(wr, c * c * 9)))),
                    List.of(a), Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1})));
            node(g, "BatchNormalization", bnParams(g, "1", a, c, wr), List.of(bn), Map.of());
            node(g, "Relu", List.of(bn), List.of(relu), Map.of());
            node(g, "Conv", List.of(relu, constant(g, "w2", Tensor.ofFloats(Shape.of(c, c, 3, 3), random(wr, c * c * 9))),
                    constant(g, "b2", Tensor.ofFloats(Shape.of(c), random(wr, c)))), List.of(c2),
                    Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1})));
            node(g, "BatchNormalization", bnParams(g, "2", c2, c, wr), List.of(bn2), Map.of());
            node(g, "Add", List.of(bn2, x), List.of(sum), Map.of());
            node(g, "Relu", List.of(sum), List.of(y), Map.of());
            g.outputs().add(y);
            try (Model m = Model.fromGraph(g, Model.Options.defaults().withPool(pool).withOptimize(run == 1));
                 Tensor in = Tensor.ofFloats(Shape.of(2, c, 5, 5), input)) {
                Map<String, Tensor> out = m.run(Map.of("x", in));
                results[run] = out.get("y").toFloatArray();
                out.values().forEach(Tensor::close);
                if (run == 1) {
                    assertThat(m.graph().nodes()).extracting(Node::opType).containsExactly("FusedConv", "FusedConv");
                }
            }
        }
        for (int i = 0; i < results[0].length; i++) {
            assertThat(results[1][i]).isCloseTo(results[0][i],
                    org.assertj.core.api.Assertions.within(1e-4f * (1 + Math.abs(results[0][i]))));
        }
    }

    private static List<Value> bnParams(Graph g, String tag, Value x, int c, Random r) {
        float[] var = new float[c];
        for (int i = 0; i < c; i++) {
            var[i] = (float) (0.5 + r.nextDouble());
        }
        return List.of(x, constant(g, "scale" + tag, Tensor.ofFloats(Shape.of(c), random(r, c))),
                constant(g, "bias" + tag, Tensor.ofFloats(Shape.of(c), random(r, c))),
                constant(g, "mean" + tag, Tensor.ofFloats(Shape.of(c), random(r, c))),
                constant(g, "var" + tag, Tensor.ofFloats(Shape.of(c), var)));
    }
}
