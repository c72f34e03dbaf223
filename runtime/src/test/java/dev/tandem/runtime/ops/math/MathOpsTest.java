package dev.tandem.runtime.ops.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.OpRegistry;
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

/**
 * The math ops' scalar (dtype-generic) broadcasting path and opset-specific behaviour against hand-computed
 * values, and the float32 fast paths against the scalar path on random shapes.
 */
class MathOpsTest {
    static ThreadPool pool;
    static Sgemm gemm;
    static final OpRegistry OPS = new OpRegistry();
    final List<Tensor> owned = new ArrayList<>();

    @BeforeAll
    static void open() {
        pool = new ThreadPool(3);
        gemm = new Sgemm(pool);
        MathOps.register(OPS);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    // ---- helpers

    Tensor t(DType dtype, int[] shape, double... values) {
        Tensor x = Tensor.allocate(dtype, Shape.of(shape));
        for (int i = 0; i < values.length; i++) {
            Elements.setDouble(x, i, values[i]);
        }
        owned.add(x);
        return x;
    }

    Tensor longs(int[] shape, long... values) {
        Tensor x = Tensor.allocate(DType.INT64, Shape.of(shape));
        for (int i = 0; i < values.length; i++) {
            Elements.setLong(x, i, values[i]);
        }
        owned.add(x);
        return x;
    }

    static int[] s(int... d) {
        return d;
    }

    /** Prepares and runs one node of {@code op} (every input known at plan time), returning output 0. */
    static Tensor run(String op, int opset, Map<String, Attribute> attrs, Tensor... ins) {
        List<Value> iv = new ArrayList<>();
        DType[] dt = new DType[ins.length];
        Shape[] sh = new Shape[ins.length];
        for (int i = 0; i < ins.length; i++) {
            iv.add(ins[i] == null ? null : new Value("in" + i));
            dt[i] = ins[i] == null ? null : ins[i].dtype();
            sh[i] = ins[i] == null ? null : ins[i].shape();
        }
        Node node = new Node("n", op, "", iv, List.of(new Value("out")), attrs);
        OpContext ctx = new OpContext(node, opset, dt, sh, ins.clone(), gemm);
        Prepared p = OPS.find("", op).prepare(ctx);
        Prepared.Output o = p.outputs().getFirst();
        if (p.isAlias()) {
            return ins[p.aliasOf()].contiguous().reshape(o.shape().dims());
        }
        Tensor out = Tensor.allocate(o.dtype(), o.shape());
        p.kernel().run(ins, new Tensor[]{out});
        return out;
    }

    static Tensor run(String op, int opset, Tensor... ins) {
        return run(op, opset, Map.of(), ins);
    }

    static Map<String, Attribute> attrs(Attribute... a) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (Attribute x : a) {
            m.put(x.name(), x);
        }
        return m;
    }

    static long[] asLongs(Tensor t) {
        return Elements.toLongs(t);
    }

    static double[] asDoubles(Tensor t) {
        double[] d = new double[(int) t.size()];
        Tensor c = t.contiguous();
        for (int i = 0; i < d.length; i++) {
            d[i] = Elements.getDouble(c, i);
        }
        return d;
    }

    // ---- broadcasting, integer arithmetic

    @Test
    void addInt64BroadcastsRowOverMatrix() {
        Tensor r = run("Add", 14, longs(s(2, 3), 1, 2, 3, 4, 5, 6), longs(s(3), 10, 20, 30));
        assertThat(r.dtype()).isEqualTo(DType.INT64);
        assertThat(r.shape()).isEqualTo(Shape.of(2, 3));
        assertThat(asLongs(r)).containsExactly(11, 22, 33, 14, 25, 36);
    }

    @Test
    void subInt32BroadcastsBothWays() {
        Tensor r = run("Sub", 14, t(DType.INT32, s(2, 1), 100, 200), t(DType.INT32, s(1, 3), 1, 2, 3));
        assertThat(r.shape()).isEqualTo(Shape.of(2, 3));
        assertThat(asLongs(r)).containsExactly(99, 98, 97, 199, 198, 197);
    }

    @Test
    void integerDivTruncatesTowardZeroAndRejectsZero() {
        Tensor r = run("Div", 14, longs(s(4), -7, 7, -7, 7), longs(s(4), 2, -2, -2, 2));
        assertThat(asLongs(r)).containsExactly(-3, -3, 3, 3);
        assertThatThrownBy(() -> run("Div", 14, longs(s(1), 1), longs(s(1), 0)))
                .isInstanceOf(InvalidInputException.class);
    }

    @Test
    void uint8ArithmeticWrapsAround() {
        Tensor r = run("Sub", 14, t(DType.UINT8, s(2), 3, 250), t(DType.UINT8, s(2), 5, 10));
        assertThat(asLongs(r)).containsExactly(254, 240);
    }

    @Test
    void integerPowIsExact() {
        // 3^39 = 4052555153018976267 is not representable in double
        Tensor r = run("Pow", 15, longs(s(3), 3, -2, 5), longs(s(3), 39, 3, 0));
        assertThat(asLongs(r)).containsExactly(4052555153018976267L, -8, 1);
        // int base, float exponent: computed in double, truncated to the base's type
        Tensor m = run("Pow", 15, longs(s(2), 2, 10), t(DType.FLOAT32, s(), 0.5));
        assertThat(asLongs(m)).containsExactly(1, 3);
    }

    @Test
    void float64MulOfTransposedView() {
        Tensor a = t(DType.FLOAT64, s(2, 3), 1, 2, 3, 4, 5, 6).transpose(0, 1); // [[1,4],[2,5],[3,6]]
        Tensor r = run("Mul", 14, a, t(DType.FLOAT64, s(2), 10, 0.5));
        assertThat(asDoubles(r)).containsExactly(10, 2, 20, 2.5, 30, 3);
    }

    @Test
    void legacyBroadcastAlignsBFromAxis() {
        // opset 6: B of shape [3] broadcast along axis 1 of A [2, 3, 2]
        Tensor a = t(DType.FLOAT32, s(2, 3, 2), 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1);
        Tensor r = run("Add", 6, attrs(Attribute.of("broadcast", 1L), Attribute.of("axis", 1L)), a,
                t(DType.FLOAT32, s(3), 10, 20, 30));
        assertThat(asDoubles(r)).containsExactly(10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31);
        Tensor r2 = run("Add", 6, attrs(Attribute.of("broadcast", 1L), Attribute.of("axis", 1L)),
                longs(s(2, 3, 2), 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1), longs(s(3), 10, 20, 30));
        assertThat(asLongs(r2)).containsExactly(10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31);
    }

    @Test
    void variadicMaxAndMeanBroadcast() {
        Tensor r = run("Max", 13, longs(s(2, 1), 5, -5), longs(s(3), 1, 2, 9), longs(s(), 0));
        assertThat(r.shape()).isEqualTo(Shape.of(2, 3));
        assertThat(asLongs(r)).containsExactly(5, 5, 9, 1, 2, 9);
        Tensor m = run("Mean", 13, t(DType.FLOAT64, s(2), 1, 2), t(DType.FLOAT64, s(2, 1), 3, 4),
                t(DType.FLOAT64, s(), 5));
        assertThat(asDoubles(m)).containsExactly(3, 10.0 / 3, 10.0 / 3, 11.0 / 3);
    }

    // ---- comparisons, Where

    @Test
    void comparisonsGiveBool() {
        Tensor a = longs(s(2, 2), 1, 5, 3, 3);
        Tensor b = longs(s(2), 3, 3);
        Tensor eq = run("Equal", 13, a, b);
        Tensor gt = run("Greater", 13, a, b);
        Tensor le = run("LessOrEqual", 16, a, b);
        assertThat(eq.dtype()).isEqualTo(DType.BOOL);
        assertThat(asLongs(eq)).containsExactly(0, 0, 1, 1);
        assertThat(asLongs(gt)).containsExactly(0, 1, 0, 0);
        assertThat(asLongs(le)).containsExactly(1, 0, 1, 1);
        Tensor nan = run("Equal", 13, t(DType.FLOAT32, s(2), Double.NaN, 1), t(DType.FLOAT32, s(2), Double.NaN, 1));
        assertThat(asLongs(nan)).containsExactly(0, 1);
    }

    @Test
    void whereBroadcastsThreeOperands() {
        Tensor cond = t(DType.BOOL, s(2, 1), 1, 0);
        Tensor r = run("Where", 16, cond, longs(s(3), 1, 2, 3), longs(s(), -1));
        assertThat(r.shape()).isEqualTo(Shape.of(2, 3));
        assertThat(asLongs(r)).containsExactly(1, 2, 3, -1, -1, -1);
    }

    // ---- unary, Clip, Cast

    @Test
    void unaryOnIntegersIsExact() {
        assertThat(asLongs(run("Neg", 13, longs(s(2), Long.MAX_VALUE, -4)))).containsExactly(-Long.MAX_VALUE, 4);
        assertThat(asLongs(run("Abs", 13, t(DType.INT8, s(2), -5, 7)))).containsExactly(5, 7);
        assertThat(asLongs(run("Relu", 14, t(DType.INT32, s(3), -5, 0, 7)))).containsExactly(0, 0, 7);
        assertThat(asLongs(run("Not", 1, t(DType.BOOL, s(2), 0, 1)))).containsExactly(1, 0);
    }

    @Test
    void erfInDoubleMatchesKnownValues() {
        assertThat(Unary.erf(0.5)).isCloseTo(0.5204998778130465, within(1e-15));
        assertThat(Unary.erf(1)).isCloseTo(0.8427007929497149, within(1e-15));
        assertThat(Unary.erf(2)).isCloseTo(0.9953222650189527, within(1e-15));
        assertThat(Unary.erf(2.99)).isCloseTo(0.9999764743969194, within(1e-15));
        assertThat(Unary.erf(3.5)).isCloseTo(0.9999992569016276, within(1e-15));
        assertThat(Unary.erf(-1.5)).isCloseTo(-0.9661051464753108, within(1e-15));
        assertThat(Unary.erf(5.9)).isCloseTo(0.9999999999999999, within(1e-16));
        assertThat(Unary.erf(7)).isEqualTo(1);
        assertThat(Unary.erf(0)).isEqualTo(0);
    }

    @Test
    void clipReadsOptionalBoundsAndAttributes() {
        Tensor x = longs(s(4), -10, -1, 5, 100);
        assertThat(asLongs(run("Clip", 13, x, longs(s(), 0)))).containsExactly(0, 0, 5, 100);
        assertThat(asLongs(run("Clip", 13, x, null, longs(s(), 6)))).containsExactly(-10, -1, 5, 6);
        Tensor f = t(DType.FLOAT32, s(3), -2, 0.5, 3);
        assertThat(asDoubles(run("Clip", 6, attrs(Attribute.of("min", -1f), Attribute.of("max", 1f)), f)))
                .containsExactly(-1, 0.5, 1);
        // min > max: everything becomes max
        assertThat(asDoubles(run("Clip", 13, f, t(DType.FLOAT32, s(), 2), t(DType.FLOAT32, s(), 1))))
                .containsExactly(1, 1, 1);
    }

    @Test
    void castTruncatesFloatsAndConvertsBool() {
        Tensor f = t(DType.FLOAT32, s(4), -2.7, 2.7, 0, Double.NaN);
        Tensor i = run("Cast", 13, attrs(Attribute.of("to", 6L)), f);
        assertThat(i.dtype()).isEqualTo(DType.INT32);
        assertThat(asLongs(i).length).isEqualTo(4);
        assertThat(asLongs(i)[0]).isEqualTo(-2);
        assertThat(asLongs(i)[1]).isEqualTo(2);
        Tensor b = run("Cast", 13, attrs(Attribute.of("to", 9L)), f);
        assertThat(asLongs(b)).containsExactly(1, 1, 0, 1);
        Tensor big = run("Cast", 13, attrs(Attribute.of("to", 11L)), longs(s(1), (1L << 53) + 1));
        assertThat(asDoubles(big)).containsExactly((double) (1L << 53));
        assertThatThrownBy(() -> run("Cast", 13, attrs(Attribute.of("to", 10L)), f))
                .isInstanceOf(UnsupportedModelException.class);
    }

    // ---- reductions, ArgMax

    @Test
    void reductionsOnIntegersAndDoubles() {
        Tensor x = longs(s(2, 3), 1, 2, 3, 4, 5, 6);
        Tensor sum = run("ReduceSum", 13, attrs(Attribute.of("keepdims", 0L)), x, longs(s(1), -1));
        assertThat(sum.shape()).isEqualTo(Shape.of(2));
        assertThat(asLongs(sum)).containsExactly(6, 15);
        Tensor all = run("ReduceSum", 11, x);
        assertThat(all.shape()).isEqualTo(Shape.of(1, 1));
        assertThat(asLongs(all)).containsExactly(21);
        Tensor noop = run("ReduceSum", 13, attrs(Attribute.of("noop_with_empty_axes", 1L)), x);
        assertThat(asLongs(noop)).containsExactly(1, 2, 3, 4, 5, 6);
        Tensor max = run("ReduceMax", 13, attrs(Attribute.of("axes", new long[]{0})),
                t(DType.FLOAT64, s(2, 2), 1, Double.NaN, 3, 0));
        assertThat(max.shape()).isEqualTo(Shape.of(1, 2));
        assertThat(asDoubles(max)[0]).isEqualTo(3);
        assertThat(asDoubles(max)[1]).isNaN();
        Tensor mean = run("ReduceMean", 18, x, longs(s(1), 0));
        assertThat(asLongs(mean)).containsExactly(2, 3, 4);
    }

    @Test
    void argMaxOnIntegersSelectsFirstOrLast() {
        Tensor x = longs(s(2, 3), 7, 1, 7, 0, 0, -1);
        Tensor first = run("ArgMax", 13, attrs(Attribute.of("axis", 1L), Attribute.of("keepdims", 0L)), x);
        assertThat(first.dtype()).isEqualTo(DType.INT64);
        assertThat(asLongs(first)).containsExactly(0, 0);
        Tensor last = run("ArgMax", 13, attrs(Attribute.of("axis", -1L), Attribute.of("select_last_index", 1L)), x);
        assertThat(last.shape()).isEqualTo(Shape.of(2, 1));
        assertThat(asLongs(last)).containsExactly(2, 1);
    }

    // ---- float32 fast paths vs the scalar path

    @Test
    void float32FastPathsAgreeWithScalarPath() {
        Random rnd = new Random(7);
        int[][][] shapes = {{{4, 5, 6}, {5, 1}}, {{1, 7}, {9, 1}}, {{3, 33}, {33}}, {{2, 3, 4, 5}, {}}};
        for (int[][] pair : shapes) {
            Tensor a = random(rnd, pair[0], 0.5, 3);
            Tensor b = random(rnd, pair[1], 0.5, 3);
            for (Arithmetic.Kind k : Arithmetic.Kind.values()) {
                Tensor fast = run(k.onnx, 14, a, b);
                Tensor ref = Tensor.allocate(DType.FLOAT32, fast.shape());
                Arithmetic.run(k, false, a, b, ref);
                double[] x = asDoubles(fast), y = asDoubles(ref);
                for (int i = 0; i < x.length; i++) {
                    assertThat(x[i]).as(k + " at " + i).isCloseTo(y[i], within(1e-5 * Math.abs(y[i]) + 1e-6));
                }
            }
        }
        Tensor u = random(rnd, s(3, 50), -4, 4);
        for (Unary.Kind k : List.of(Unary.Kind.EXP, Unary.Kind.TANH, Unary.Kind.SIGMOID, Unary.Kind.ERF,
                Unary.Kind.NEG, Unary.Kind.ABS)) {
            Tensor fast = run(k.onnx, 13, u);
            Tensor ref = Tensor.allocate(DType.FLOAT32, u.shape());
            Unary.run(k, false, u, ref);
            double[] x = asDoubles(fast), y = asDoubles(ref);
            for (int i = 0; i < x.length; i++) {
                assertThat(x[i]).as(k + " at " + i).isCloseTo(y[i], within(1e-5 * Math.abs(y[i]) + 1e-6));
            }
        }
    }

    Tensor random(Random rnd, int[] shape, double lo, double hi) {
        Tensor x = Tensor.allocate(DType.FLOAT32, Shape.of(shape));
        for (long i = 0; i < x.size(); i++) {
            Elements.setDouble(x, i, lo + (hi - lo) * rnd.nextDouble());
        }
        owned.add(x);
        return x;
    }
}
