package dev.tandem.runtime.autodiff;

import static dev.tandem.runtime.autodiff.GradCheck.constant;
import static dev.tandem.runtime.autodiff.GradCheck.node;
import static dev.tandem.runtime.autodiff.GradCheck.nodeN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every gradient rule against central finite differences in float64, and its float32 kernels against float64
 * (see {@link GradCheck}). Inputs stay away from kinks (ReLU's 0, Clip's bounds, HardSwish's ±3) by a margin much
 * larger than the finite-difference step; max pooling gets distinct values in every window.
 */
class GradientCheckTest {
    private static final String T = Node.TANDEM_DOMAIN;
    private static final double[] NONE = {};
    private static ThreadPool pool;
    private static GradCheck gc;
    private static final Set<String> covered = new TreeSet<>();

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
        gc = new GradCheck(pool, 7);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    private static Tensor[] in(Tensor... t) {
        return t;
    }

    private static boolean[] wrt(boolean... b) {
        return b;
    }

    private void unary(String op, double lo, double hi, double[] kinks, Attribute... attrs) {
        covered.add(op);
        gc.check(op, 17, (g, x) -> node(g, "", op, List.of(x.get(0)), attrs),
                in(gc.uniform(lo, hi, 0.05, kinks, 3, 5)), wrt(true));
    }

    @Test
    void elementwise() {
        for (String op : List.of("Add", "Sub", "Mul", "Div")) {
            covered.add(op);
            gc.check(op + " broadcast", 17, (g, x) -> node(g, "", op, List.of(x.get(0), x.get(1))),
                    in(gc.uniform(2, 3, 4), gc.uniform(0.5, 1.5, 0, NONE, 3, 1)), wrt(true, true));
        }
        covered.add("Sum");
        gc.check("Sum", 17, (g, x) -> node(g, "", "Sum", List.of(x.get(0), x.get(1), x.get(0))),
                in(gc.uniform(2, 3), gc.uniform(3)), wrt(true, true));
        unary("Neg", -1, 1, NONE);
        unary("Exp", -1, 1, NONE);
        unary("Log", 0.2, 2, NONE);
        unary("Sqrt", 0.2, 2, NONE);
        unary("Abs", -1, 1, new double[] {0});
        unary("Relu", -1, 1, new double[] {0});
        unary("Sigmoid", -3, 3, NONE);
        unary("Tanh", -2, 2, NONE);
        unary("LeakyRelu", -1, 1, new double[] {0}, Attribute.of("alpha", 0.1f));
        unary("HardSigmoid", -4, 4, new double[] {-2.5, 2.5});
        unary("HardSwish", -4, 4, new double[] {-3, 3});
        unary("Elu", -2, 2, new double[] {0}, Attribute.of("alpha", 0.7f));
        unary("Selu", -2, 2, new double[] {0});
        unary("Softplus", -2, 2, NONE);
        unary("Identity", -1, 1, NONE);
        covered.add("Pow");
        gc.check("Pow", 17, (g, x) -> node(g, "", "Pow", List.of(x.get(0),
                constant(g, Tensor.ofDoubles(Shape.scalar(), 2.5)))), in(gc.uniform(0.3, 2, 0, NONE, 4)), wrt(true));
        covered.add("Clip");
        gc.check("Clip (ReLU6)", 17, (g, x) -> node(g, "", "Clip", List.of(x.get(0), x.get(1), x.get(2))),
                in(gc.uniform(-2, 8, 0.05, new double[] {0, 6}, 4, 6), Tensor.ofDoubles(Shape.scalar(), 0),
                        Tensor.ofDoubles(Shape.scalar(), 6)), wrt(true, false, false));
    }

    @Test
    void reductionsAndSoftmax() {
        covered.add("ReduceSum");
        gc.check("ReduceSum axes 1", 17, (g, x) -> node(g, "", "ReduceSum", List.of(x.get(0),
                constant(g, Tensor.ofLongs(Shape.of(1), 1))), Attribute.of("keepdims", 0L)),
                in(gc.uniform(2, 3, 4)), wrt(true));
        covered.add("ReduceMean");
        gc.check("ReduceMean keepdims", 17, (g, x) -> node(g, "", "ReduceMean", List.of(x.get(0),
                constant(g, Tensor.ofLongs(Shape.of(2), 0, 2)))), in(gc.uniform(2, 3, 4)), wrt(true));
        gc.check("ReduceMean all, opset 11", 11, (g, x) -> node(g, "", "ReduceMean", List.of(x.get(0)),
                Attribute.of("keepdims", 0L)), in(gc.uniform(3, 2)), wrt(true));
        covered.add("Softmax");
        gc.check("Softmax", 17, (g, x) -> node(g, "", "Softmax", List.of(x.get(0)), Attribute.of("axis", 1L)),
                in(gc.uniform(2, 5, 3)), wrt(true));
        covered.add("LogSoftmax");
        gc.check("LogSoftmax", 17, (g, x) -> node(g, "", "LogSoftmax", List.of(x.get(0))), in(gc.uniform(4, 6)),
                wrt(true));
    }

    private void conv(String label, int n, int c, int h, int w, int m, int k, Attribute... attrs) {
        covered.add("Conv");
        long group = 1;
        for (Attribute a : attrs) {
            if (a.name().equals("group")) {
                group = (Long) a.value();
            }
        }
        Tensor x = gc.uniform(n, c, h, w), wt = gc.uniform(m, (int) (c / group), k, k), b = gc.uniform(m);
        gc.check(label, 17, (g, v) -> node(g, "", "Conv", List.of(v.get(0), v.get(1), v.get(2)), attrs),
                in(x, wt, b), wrt(true, true, true));
    }

    @Test
    void convolution() {
        conv("Conv 3x3 pad 1", 2, 3, 6, 5, 4, 3, Attribute.of("pads", new long[] {1, 1, 1, 1}));
        conv("Conv 3x3 stride 2 pad 1", 2, 3, 7, 6, 4, 3, Attribute.of("pads", new long[] {1, 1, 1, 1}),
                Attribute.of("strides", new long[] {2, 2}));
        conv("Conv groups 2 dilation 2", 1, 4, 7, 7, 6, 3, Attribute.of("group", 2L),
                Attribute.of("dilations", new long[] {2, 2}), Attribute.of("pads", new long[] {2, 1, 1, 2}));
        conv("Conv depthwise stride 2", 2, 4, 6, 6, 4, 3, Attribute.of("group", 4L),
                Attribute.of("strides", new long[] {2, 2}), Attribute.of("pads", new long[] {1, 1, 1, 1}));
        conv("Conv depthwise stride 1", 2, 5, 5, 6, 5, 3, Attribute.of("group", 5L),
                Attribute.of("pads", new long[] {1, 1, 1, 1}));
        conv("Conv 1x1", 2, 3, 4, 5, 6, 1);
        conv("Conv 5x5 valid", 1, 2, 7, 8, 3, 5);
        covered.add("Conv");
        gc.check("Conv without bias, 1-D", 17, (g, v) -> node(g, "", "Conv", List.of(v.get(0), v.get(1)),
                Attribute.of("pads", new long[] {1, 1})), in(gc.uniform(2, 3, 9), gc.uniform(4, 3, 3)),
                wrt(true, true));
    }

    @Test
    void dense() {
        covered.add("Gemm");
        for (long ta = 0; ta <= 1; ta++) {
            for (long tb = 0; tb <= 1; tb++) {
                long fa = ta, fb = tb;
                Tensor a = fa == 0 ? gc.uniform(3, 4) : gc.uniform(4, 3);
                Tensor b = fb == 0 ? gc.uniform(4, 5) : gc.uniform(5, 4);
                gc.check("Gemm transA " + ta + " transB " + tb, 17, (g, v) -> node(g, "", "Gemm",
                        List.of(v.get(0), v.get(1), v.get(2)), Attribute.of("transA", fa), Attribute.of("transB", fb),
                        Attribute.of("alpha", 0.7f), Attribute.of("beta", 1.3f)), in(a, b, gc.uniform(5)),
                        wrt(true, true, true));
            }
        }
        covered.add("MatMul");
        gc.check("MatMul", 17, (g, v) -> node(g, "", "MatMul", List.of(v.get(0), v.get(1))),
                in(gc.uniform(3, 4), gc.uniform(4, 2)), wrt(true, true));
    }

    @Test
    void pooling() {
        covered.add("MaxPool");
        gc.check("MaxPool 2x2 s2", 17, (g, v) -> node(g, "", "MaxPool", List.of(v.get(0)),
                Attribute.of("kernel_shape", new long[] {2, 2}), Attribute.of("strides", new long[] {2, 2})),
                in(distinct(2, 3, 6, 6)), wrt(true));
        gc.check("MaxPool 3x3 s2 p1", 17, (g, v) -> node(g, "", "MaxPool", List.of(v.get(0)),
                Attribute.of("kernel_shape", new long[] {3, 3}), Attribute.of("strides", new long[] {2, 2}),
                Attribute.of("pads", new long[] {1, 1, 1, 1})), in(distinct(1, 2, 7, 7)), wrt(true));
        covered.add("AveragePool");
        for (long inc = 0; inc <= 1; inc++) {
            long f = inc;
            gc.check("AveragePool count_include_pad " + inc, 17, (g, v) -> node(g, "", "AveragePool",
                    List.of(v.get(0)), Attribute.of("kernel_shape", new long[] {3, 3}),
                    Attribute.of("strides", new long[] {2, 2}), Attribute.of("pads", new long[] {1, 1, 1, 1}),
                    Attribute.of("count_include_pad", f)), in(gc.uniform(2, 2, 5, 6)), wrt(true));
        }
        covered.add("GlobalAveragePool");
        gc.check("GlobalAveragePool", 17, (g, v) -> node(g, "", "GlobalAveragePool", List.of(v.get(0))),
                in(gc.uniform(2, 3, 4, 5)), wrt(true));
        covered.add("GlobalMaxPool");
        gc.check("GlobalMaxPool", 17, (g, v) -> node(g, "", "GlobalMaxPool", List.of(v.get(0))),
                in(distinct(2, 3, 4, 5)), wrt(true));
    }

    /** Values in [-1, 1) at least 0.01 apart from each other (no ties in a max window). */
    private static Tensor distinct(int... dims) {
        Shape s = Shape.of(dims);
        int n = (int) s.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Collections.shuffle(Arrays.asList(order), new java.util.Random(n));
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[order[i]] = -1 + 2.0 * i / n;
        }
        return Tensor.ofDoubles(s, v);
    }

    @Test
    void shapes() {
        for (String op : List.of("Flatten", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Concat", "Dropout")) {
            covered.add(op);
        }
        gc.check("Flatten", 17, (g, v) -> node(g, "", "Flatten", List.of(v.get(0))), in(gc.uniform(2, 3, 4)),
                wrt(true));
        gc.check("Reshape", 17, (g, v) -> node(g, "", "Reshape", List.of(v.get(0),
                constant(g, Tensor.ofLongs(Shape.of(2), 4, -1)))), in(gc.uniform(2, 3, 4)), wrt(true));
        gc.check("Transpose", 17, (g, v) -> node(g, "", "Transpose", List.of(v.get(0)),
                Attribute.of("perm", new long[] {1, 2, 0})), in(gc.uniform(2, 3, 4)), wrt(true));
        gc.check("Unsqueeze", 17, (g, v) -> node(g, "", "Unsqueeze", List.of(v.get(0),
                constant(g, Tensor.ofLongs(Shape.of(1), 1)))), in(gc.uniform(2, 3)), wrt(true));
        gc.check("Squeeze", 17, (g, v) -> node(g, "", "Squeeze", List.of(v.get(0))), in(gc.uniform(2, 1, 3)),
                wrt(true));
        gc.check("Concat", 17, (g, v) -> node(g, "", "Concat", List.of(v.get(0), v.get(1), v.get(0)),
                Attribute.of("axis", 1L)), in(gc.uniform(2, 3), gc.uniform(2, 2)), wrt(true, true));
        gc.check("Dropout (inference)", 17, (g, v) -> node(g, "", "Dropout", List.of(v.get(0))),
                in(gc.uniform(3, 3)), wrt(true));
    }

    @Test
    void trainingOps() {
        covered.add(T + ".BatchNormTrain");
        Tensor rm = Tensor.ofDoubles(Shape.of(3), 0, 0, 0), rv = Tensor.ofDoubles(Shape.of(3), 1, 1, 1);
        gc.check("BatchNormTrain", 17, (g, v) -> nodeN(g, T, "BatchNormTrain", 3, List.of(v.get(0), v.get(1),
                v.get(2), v.get(3), v.get(4)))[0], in(gc.uniform(4, 3, 2, 3), gc.uniform(0.5, 1.5, 0, NONE, 3),
                gc.uniform(3), rm, rv), wrt(true, true, true, false, false));
        covered.add(T + ".DropoutTrain");
        gc.check("DropoutTrain", 17, (g, v) -> nodeN(g, T, "DropoutTrain", 2, List.of(v.get(0), v.get(1)),
                Attribute.of("ratio", 0.3f))[0], in(gc.uniform(4, 8), Tensor.ofLongs(Shape.scalar(), 99)),
                wrt(true, false));
        covered.add(T + ".SoftmaxCrossEntropy");
        Tensor labels = Tensor.ofLongs(Shape.of(5), 0, 3, 1, 3, 2);
        gc.check("SoftmaxCrossEntropy", 17, (g, v) -> nodeN(g, T, "SoftmaxCrossEntropy", 2,
                List.of(v.get(0), v.get(1)))[0], in(gc.uniform(5, 4), labels), wrt(true, false));
        gc.check("SoftmaxCrossEntropy smoothing, weights, sum", 17, (g, v) -> nodeN(g, T, "SoftmaxCrossEntropy", 2,
                List.of(v.get(0), v.get(1), v.get(2)), Attribute.of("label_smoothing", 0.1f),
                Attribute.of("reduction", "sum"))[0], in(gc.uniform(5, 4), labels,
                gc.uniform(0.5, 2, 0, NONE, 4)), wrt(true, false, false));
        gc.check("SoftmaxCrossEntropy smoothing, weights, mean", 17, (g, v) -> nodeN(g, T, "SoftmaxCrossEntropy", 2,
                List.of(v.get(0), v.get(1), v.get(2)), Attribute.of("label_smoothing", 0.2f))[0],
                in(gc.uniform(5, 4), labels, gc.uniform(0.5, 2, 0, NONE, 4)), wrt(true, false, false));
    }

    @Test
    void nllLoss() {
        covered.add("NegativeLogLikelihoodLoss");
        Tensor labels = Tensor.ofLongs(Shape.of(5), 0, 3, 1, 3, 2);
        gc.check("LogSoftmax + NegativeLogLikelihoodLoss", 17, (g, v) -> node(g, "", "NegativeLogLikelihoodLoss",
                List.of(node(g, "", "LogSoftmax", List.of(v.get(0)), Attribute.of("axis", 1L)), v.get(1), v.get(2))),
                in(gc.uniform(5, 4), labels, gc.uniform(0.5, 2, 0, NONE, 4)), wrt(true, false, false));
        gc.check("NegativeLogLikelihoodLoss sum, ignore_index", 17, (g, v) -> node(g, "",
                "NegativeLogLikelihoodLoss", List.of(v.get(0), v.get(1)), Attribute.of("reduction", "sum"),
                Attribute.of("ignore_index", 3L)), in(gc.uniform(5, 4), labels), wrt(true, false));
    }

    @Test
    void sharedValuesAccumulate() {
        // y = x·x + relu(x): x feeds three readers
        gc.check("shared x", 17, (g, v) -> node(g, "", "Add", List.of(node(g, "", "Mul", List.of(v.get(0),
                v.get(0))), node(g, "", "Relu", List.of(v.get(0))))),
                in(gc.uniform(-1, 1, 0.05, new double[] {0}, 4, 3)), wrt(true));
    }

    @Test
    void everyRuleIsChecked() throws Exception {
        elementwise();
        reductionsAndSoftmax();
        convolution();
        dense();
        pooling();
        shapes();
        trainingOps();
        nllLoss();
        assertThat(covered).containsAll(Rules.standard().all().keySet());
    }
}
