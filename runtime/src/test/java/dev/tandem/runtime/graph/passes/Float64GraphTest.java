package dev.tandem.runtime.graph.passes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A float64 classifier with its loss runs end to end through the optimizer and the planner, and gives exactly the
 * same values optimized (Conv+Relu and Conv+Add fused, float64 BatchNormalization left alone) or not; a Clip bound
 * that float cannot hold is not fused into a FusedConv's float attribute.
 */
class Float64GraphTest {
    private static ThreadPool pool;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    private static Tensor doubles(Random r, int... dims) {
        Tensor t = Tensor.allocate(DType.FLOAT64, Shape.of(dims));
        double[] v = new double[Math.toIntExact(t.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() * 0.5;
        }
        Elements.setDoubles(t, v);
        return t;
    }

    private static Tensor scalar(double v) {
        Tensor t = Tensor.allocate(DType.FLOAT64, Shape.scalar());
        Elements.setDouble(t, 0, v);
        return t;
    }

    private static Value constant(Graph g, String name, Tensor t) {
        Value v = g.value(name);
        v.setConstant(t);
        return v;
    }

    private static void node(Graph g, String type, List<Value> in, Value out, Map<String, Attribute> attrs) {
        g.add(new Node(type + "_" + g.nodes().size(), type, "", in, List.of(out), attrs));
    }

    private static Graph classifier(Random r) {
        int c = 4;
        Graph g = new Graph();
        g.opsets().put("", 17);
        Value x = g.value("x");
        Value labels = g.value("labels");
        g.inputs().add(x);
        g.inputs().add(labels);
        Map<String, Attribute> pad1 = Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1}));
        node(g, "Conv", List.of(x, constant(g, "w1", doubles(r, c, 3, 3, 3)), constant(g, "b1", doubles(r, c))),
                g.value("c1"), pad1);
        node(g, "Relu", List.of(g.value("c1")), g.value("r1"), Map.of());
        node(g, "Conv", List.of(g.value("r1"), constant(g, "w2", doubles(r, c, c, 3, 3))), g.value("c2"), pad1);
        Tensor var = doubles(r, c);
        Elements.setDoubles(var, new double[] {0.5, 1.5, 0.9, 1.1});
        node(g, "BatchNormalization", List.of(g.value("c2"), constant(g, "scale", doubles(r, c)),
                constant(g, "bias", doubles(r, c)), constant(g, "mean", doubles(r, c)), constant(g, "var", var)),
                g.value("bn"), Map.of());
        node(g, "Conv", List.of(g.value("bn"), constant(g, "w3", doubles(r, c, c, 1, 1))), g.value("c3"), Map.of());
        node(g, "Add", List.of(g.value("c3"), g.value("r1")), g.value("sum"), Map.of());
        node(g, "Clip", List.of(g.value("sum"), constant(g, "lo", scalar(0.1)), constant(g, "hi", scalar(6))),
                g.value("clip"), Map.of());
        node(g, "MaxPool", List.of(g.value("clip")), g.value("pool"), Map.of("kernel_shape",
                Attribute.of("kernel_shape", new long[] {2, 2}), "strides", Attribute.of("strides", new long[] {2, 2})));
        node(g, "GlobalAveragePool", List.of(g.value("pool")), g.value("gap"), Map.of());
        node(g, "Flatten", List.of(g.value("gap")), g.value("flat"), Map.of());
        node(g, "Gemm", List.of(g.value("flat"), constant(g, "wg", doubles(r, 5, c)), constant(g, "bg", doubles(r, 5))),
                g.value("logits"), Map.of("transB", Attribute.of("transB", 1L)));
        g.add(new Node("loss", "SoftmaxCrossEntropyLoss", "", List.of(g.value("logits"), labels),
                List.of(g.value("loss"), g.value("log_prob")), Map.of()));
        g.outputs().add(g.value("loss"));
        g.outputs().add(g.value("log_prob"));
        return g;
    }

    @Test
    void optimizedAndPlainRunsAgreeExactly() {
        List<double[]> results = new ArrayList<>();
        Tensor x = doubles(new Random(1), 2, 3, 6, 5);
        Tensor labels = Tensor.ofLongs(Shape.of(2), 3, 1);
        for (boolean optimize : new boolean[] {false, true}) {
            try (Model m = Model.fromGraph(classifier(new Random(2)),
                    Model.Options.defaults().withPool(pool).withOptimize(optimize))) {
                Map<String, Tensor> out = m.run(Map.of("x", x, "labels", labels));
                assertThat(out.get("loss").dtype()).isEqualTo(DType.FLOAT64);
                assertThat(out.get("log_prob").shape()).isEqualTo(Shape.of(2, 5));
                double[] loss = Elements.toDoubles(out.get("loss"));
                double[] logProb = Elements.toDoubles(out.get("log_prob"));
                assertThat(loss[0]).isPositive().isFinite();
                double[] all = new double[1 + logProb.length];
                all[0] = loss[0];
                System.arraycopy(logProb, 0, all, 1, logProb.length);
                results.add(all);
                out.values().forEach(Tensor::close);
                if (optimize) {
                    assertThat(m.graph().nodes()).extracting(Node::opType).containsExactly("FusedConv", "Conv",
                            "BatchNormalization", "FusedConv", "Clip", "MaxPool", "GlobalAveragePool", "Flatten",
                            "Gemm", "SoftmaxCrossEntropyLoss");
                }
            }
        }
        assertThat(results.get(1)).containsExactly(results.get(0));
    }
}
