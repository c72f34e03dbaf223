package dev.tandem.runtime.ops.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** FusedConv (residual and every activation), Conv 1-D, Gemm and MatMul shapes against scalar references. */
class NnOpsTest {
    private static ThreadPool pool;
    private static Sgemm gemm;
    private final Random rnd = new Random(42);

    @BeforeAll
    static void open() {
        pool = new ThreadPool(3);
        gemm = new Sgemm(pool);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    private Tensor random(int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextFloat() * 2 - 1;
        }
        return Tensor.ofFloats(s, v);
    }

    /** Prepares {@code op} on {@code inputs} (null = absent), constants where {@code constant[i]}, runs it. */
    static Tensor run(Op op, int opset, Map<String, Attribute> attrs, Tensor[] inputs, boolean[] constant) {
        List<Value> ins = new ArrayList<>();
        DType[] dt = new DType[inputs.length];
        Shape[] sh = new Shape[inputs.length];
        Tensor[] cs = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            ins.add(inputs[i] == null ? null : new Value("in" + i));
            if (inputs[i] != null) {
                dt[i] = inputs[i].dtype();
                sh[i] = inputs[i].shape();
                cs[i] = constant[i] ? inputs[i] : null;
            }
        }
        Node node = new Node("n", op.type(), op.domain(), ins, List.of(new Value("y")), attrs);
        Prepared p = op.prepare(new OpContext(node, opset, dt, sh, cs, gemm));
        Prepared.Output o = p.outputs().get(0);
        Tensor out = Tensor.allocate(o.dtype(), o.shape());
        p.kernel().run(inputs, new Tensor[] {out});
        return out;
    }

    private static Map<String, Attribute> attrs(Attribute... a) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (Attribute x : a) {
            m.put(x.name(), x);
        }
        return m;
    }

    private static void assertClose(float[] actual, double[] expected, double tol) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            if (!(Math.abs(actual[i] - e) <= tol * (1 + Math.abs(e)))) {
                assertThat((double) actual[i]).as("element %d", i).isEqualTo(e);
            }
        }
    }

    @Test
    void fusedConvWithResidualAndEachActivation() {
        String[] acts = {"", "Relu", "Clip", "Sigmoid", "HardSwish", "SiLU"};
        Activation[] refActs = {Activation.NONE, Activation.RELU, Activation.clip(-0.5f, 0.7f), Activation.SIGMOID,
            Activation.HARDSWISH, Activation.SILU};
        // {cin, cout, group, k, stride, pad, h, w}: implicit GEMM, pointwise, depthwise, grouped, strided
        int[][] geos = {{5, 7, 1, 3, 1, 1, 9, 11}, {8, 13, 1, 1, 1, 0, 6, 7}, {6, 6, 6, 3, 2, 1, 10, 9},
            {6, 4, 2, 3, 2, 0, 8, 8}, {3, 16, 1, 5, 2, 2, 13, 12}};
        for (int a = 0; a < acts.length; a++) {
            for (int[] g : geos) {
                for (boolean withZ : new boolean[] {false, true}) {
                    for (boolean constW : withZ ? new boolean[] {true, false} : new boolean[] {true}) {
                        checkFused(acts[a], refActs[a], g, withZ, constW);
                    }
                }
            }
        }
    }

    private void checkFused(String act, Activation ref, int[] g, boolean withZ, boolean constW) {
        int cin = g[0], cout = g[1], group = g[2], k = g[3], s = g[4], pad = g[5], h = g[6], w = g[7], n = 2;
        Tensor x = random(n, cin, h, w), wt = random(cout, cin / group, k, k), b = random(cout);
        ConvParams p = new ConvParams(k, k, s, s, pad, pad, pad, pad, 1, 1, group);
        int oh = p.outH(h), ow = p.outW(w);
        Tensor z = withZ ? random(n, cout, oh, ow) : null;
        Map<String, Attribute> at = attrs(Attribute.of("strides", new long[] {s, s}),
                Attribute.of("pads", new long[] {pad, pad, pad, pad}), Attribute.of("group", (long) group),
                Attribute.of("activation", act));
        if (act.equals("Clip")) {
            at.put("activation_min", Attribute.of("activation_min", -0.5f));
            at.put("activation_max", Attribute.of("activation_max", 0.7f));
        }
        Tensor y = run(new FusedConv(), 17, at, new Tensor[] {x, wt, b, z}, new boolean[] {false, constW, constW,
            false});
        double[] conv = ReferenceConv.conv2d(x.toFloatArray(), n, cin, h, w, wt.toFloatArray(), cout,
                b.toFloatArray(), p, Activation.NONE);
        float[] zv = withZ ? z.toFloatArray() : null;
        double[] expected = new double[conv.length];
        for (int i = 0; i < conv.length; i++) {
            expected[i] = ref.apply((float) (conv[i] + (zv == null ? 0 : zv[i])));
        }
        assertThat(y.shape()).isEqualTo(Shape.of(n, cout, oh, ow));
        assertClose(y.toFloatArray(), expected, 2e-4);
    }

    @Test
    void conv1dMatchesReference() {
        Tensor x = random(2, 4, 17), wt = random(6, 2, 3);
        Tensor y = run(new Conv(), 11, attrs(Attribute.of("group", 2L), Attribute.of("dilations", new long[] {2}),
                Attribute.of("auto_pad", "SAME_UPPER")), new Tensor[] {x, wt}, new boolean[] {false, true});
        ConvParams p = new ConvParams(1, 3, 1, 1, 0, 2, 0, 2, 1, 2, 2);
        double[] ref = ReferenceConv.conv2d(x.toFloatArray(), 2, 4, 1, 17, wt.toFloatArray(), 6, null, p,
                Activation.NONE);
        assertThat(y.shape()).isEqualTo(Shape.of(2, 6, 17));
        assertClose(y.toFloatArray(), ref, 1e-4);
    }

    @Test
    void gemmShapesMatchReference() {
        // batch 1 to 4 with a constant B: Gemv, its column panels one or two at a time (odd panel counts too)
        int[][] mnk = {{1, 10, 7}, {3, 5, 9}, {17, 33, 20}, {1, 200, 64}, {2, 1000, 70}, {1, 150, 33}, {3, 450, 40}};
        int[][] cShapes = {null, {}, {-2}, {-1, 1}, {-1, -2}, {1, -2}};
        for (int[] d : mnk) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    for (int[] cs : ta || tb ? new int[][] {{-2}} : cShapes) {
                        for (int constMask = 0; constMask < 3; constMask++) {
                            checkGemm(d[0], d[1], d[2], ta, tb, cs, constMask == 1, constMask == 2);
                        }
                    }
                }
            }
        }
    }

    private void checkGemm(int m, int n, int k, boolean ta, boolean tb, int[] cShape, boolean constA,
                           boolean constB) {
        Tensor a = ta ? random(k, m) : random(m, k), b = tb ? random(n, k) : random(k, n);
        Tensor c = null;
        if (cShape != null) {
            int[] dims = cShape.clone();
            for (int i = 0; i < dims.length; i++) {
                dims[i] = dims[i] == -1 ? m : dims[i] == -2 ? n : dims[i];
            }
            c = random(dims);
        }
        float alpha = 0.7f, beta = 1.3f;
        Tensor y = run(new Gemm(), 13, attrs(Attribute.of("transA", ta ? 1L : 0L), Attribute.of("transB", tb ? 1L : 0L),
                Attribute.of("alpha", alpha), Attribute.of("beta", beta)), new Tensor[] {a, b, c},
                new boolean[] {constA, constB, false});
        double[] exp = new double[m * n];
        Tensor cb = c == null ? null : c.broadcastTo(Shape.of(m, n));
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    acc += (double) (ta ? a.getFloat(p, i) : a.getFloat(i, p)) * (tb ? b.getFloat(j, p) : b.getFloat(p, j));
                }
                exp[i * n + j] = alpha * acc + (cb == null ? 0 : beta * cb.getFloat(i, j));
            }
        }
        assertThat(y.shape()).isEqualTo(Shape.of(m, n));
        assertClose(y.toFloatArray(), exp, 1e-4);
    }

    @Test
    void matMulShapesMatchReference() {
        int[][][] cases = {{{5}, {5, 3}}, {{3, 4}, {4}}, {{4}, {4}}, {{2, 3, 4}, {4, 5}}, {{1, 4}, {4, 7}},
            {{2, 1, 3, 4}, {3, 4, 2}}, {{3, 4}, {2, 4, 6}}, {{2, 2, 4}, {1, 4, 3}}};
        for (int[][] cse : cases) {
            for (int mask = 0; mask < 3; mask++) {
                checkMatMul(cse[0], cse[1], mask == 1, mask == 2);
            }
        }
    }

    private void checkMatMul(int[] ad, int[] bd, boolean constA, boolean constB) {
        Tensor a = random(ad), b = random(bd);
        Tensor y = run(new MatMul(), 13, attrs(), new Tensor[] {a, b}, new boolean[] {constA, constB});
        // reference via numpy rules on promoted shapes
        int[] a2 = ad.length == 1 ? new int[] {1, ad[0]} : ad, b2 = bd.length == 1 ? new int[] {bd[0], 1} : bd;
        Tensor av = Tensor.ofFloats(Shape.of(a2), a.toFloatArray()), bv = Tensor.ofFloats(Shape.of(b2),
                b.toFloatArray());
        int m = a2[a2.length - 2], k = a2[a2.length - 1], n = b2[b2.length - 1];
        Shape batch = Shape.broadcast(Shape.of(java.util.Arrays.copyOf(a2, a2.length - 2)),
                Shape.of(java.util.Arrays.copyOf(b2, b2.length - 2)));
        int[] full = java.util.Arrays.copyOf(batch.dims(), batch.rank() + 2);
        full[batch.rank()] = m;
        full[batch.rank() + 1] = k;
        Tensor ab = av.broadcastTo(Shape.of(full));
        full[batch.rank()] = k;
        full[batch.rank() + 1] = n;
        Tensor bb = bv.broadcastTo(Shape.of(full));
        double[] exp = new double[(int) batch.size() * m * n];
        int[] idx = new int[batch.rank() + 2];
        for (int bi = 0; bi < batch.size(); bi++) {
            int rem = bi;
            for (int d = batch.rank() - 1; d >= 0; d--) {
                idx[d] = rem % batch.dim(d);
                rem /= batch.dim(d);
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        idx[batch.rank()] = i;
                        idx[batch.rank() + 1] = p;
                        double x = ab.getFloat(idx);
                        idx[batch.rank()] = p;
                        idx[batch.rank() + 1] = j;
                        acc += x * bb.getFloat(idx);
                    }
                    exp[(bi * m + i) * n + j] = acc;
                }
            }
        }
        assertThat(y.size()).isEqualTo(exp.length);
        assertClose(y.toFloatArray(), exp, 1e-4);
    }
}
