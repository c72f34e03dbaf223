package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import dev.tandem.runtime.kernels.Elementwise.BinaryOp;
import dev.tandem.runtime.kernels.Elementwise.UnaryOp;
import dev.tandem.runtime.kernels.reference.ReferenceActivation;
import dev.tandem.runtime.kernels.reference.ReferenceElementwise;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class ElementwiseTest extends PooledKernelTest {



    /** Shape pairs covering same shape, scalar operands, inner-contiguous broadcasting and general broadcasting. */
    private static final int[][][] PAIRS = {
            {{1}, {1}}, {{7}, {7}}, {{97}, {97}}, {{3, 13}, {3, 13}}, {{2, 3, 64, 97}, {2, 3, 64, 97}},
            {{31}, {}}, {{}, {31}}, {{13, 7}, {1}}, {{1}, {7, 13}}, {{64, 97}, {1, 1}},
            {{2, 13, 7, 7}, {1, 13, 1, 1}}, {{1, 13, 1, 1}, {2, 13, 7, 7}}, {{3, 64, 31}, {64, 1}},
            {{7, 97}, {97}}, {{97}, {13, 97}}, {{31, 1}, {1, 13}}, {{1, 64}, {97, 1}},
            {{3, 1, 5}, {1, 4, 1}}, {{2, 3, 4}, {4}}, {{2, 1, 3, 1}, {1, 7, 1, 13}}, {{5, 3}, {5, 1}},
            {{13, 3}, {13, 1}}, {{1, 1, 1}, {1}}, {{0, 3}, {3}}, {{4, 0}, {1, 1}}, {{97, 1031}, {1031}}};

    /** Inputs in each op's comfortable domain, so that tolerances can be tight. */
    private static float[] operand(Random rnd, BinaryOp op, boolean first, int n) {
        return switch (op) {
            case POW -> first ? KernelTestSupport.uniform(rnd, n, 0.05f, 4) : KernelTestSupport.uniform(rnd, n, -3, 3);
            case DIV -> first ? KernelTestSupport.uniform(rnd, n, -4, 4) : signedAwayFromZero(rnd, n);
            default -> KernelTestSupport.uniform(rnd, n, -4, 4);
        };
    }

    private static float[] signedAwayFromZero(Random rnd, int n) {
        float[] v = KernelTestSupport.uniform(rnd, n, 0.25f, 4);
        for (int i = 0; i < n; i += 2) {
            v[i] = -v[i];
        }
        return v;
    }

    private static double tolerance(BinaryOp op) {
        // correctly rounded float ops are within half an ulp; POW goes through the Vector API's pow (~1 ulp)
        return op == BinaryOp.POW ? 4e-7 : 1.2e-7;
    }

    @Test
    void binaryOpsMatchReferenceOnBroadcastShapes() {
        Random rnd = new Random(21);
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] pair : PAIRS) {
                Shape as = Shape.of(pair[0]), bs = Shape.of(pair[1]);
                float[] a = operand(rnd, op, true, (int) as.size());
                float[] b = operand(rnd, op, false, (int) bs.size());
                Shape os = Shape.broadcast(as, bs);
                try (Tensor ta = Tensor.ofFloats(as, a); Tensor tb = Tensor.ofFloats(bs, b);
                     Tensor out = KernelTestSupport.zeros(os)) {
                    Elementwise.binary(pool, op, ta, tb, out);
                    assertClose(op + " " + as + " " + bs, out.toFloatArray(),
                            ReferenceElementwise.binary(op, a, as, b, bs), 1e-30, tolerance(op));
                }
            }
        }
    }

    @Test
    void binaryOpsAcceptStridedAndBroadcastViews() {
        Random rnd = new Random(22);
        for (BinaryOp op : BinaryOp.values()) {
            float[] a = operand(rnd, op, true, 7 * 13 * 5);
            float[] b = operand(rnd, op, false, 13 * 10);
            float[] c = operand(rnd, op, false, 5 * 13 * 7);
            try (Tensor ta = Tensor.ofFloats(Shape.of(7, 13, 5), a);
                 Tensor tb = Tensor.ofFloats(Shape.of(13, 10, 1), b);
                 Tensor tc = Tensor.ofFloats(Shape.of(5, 13, 7), c);
                 Tensor out = KernelTestSupport.zeros(Shape.of(5, 13, 7))) {
                // a permuted to [5, 13, 7] (no stride-1 axis), b sliced with step 2 and permuted to [5, 13, 1]
                Tensor pa = ta.permute(2, 1, 0);
                Tensor pb = tb.slice(1, 0, 10, 2).permute(1, 0, 2);
                Elementwise.binary(pool, op, pa, pb, out);
                float[] da = pa.toFloatArray(), db = pb.toFloatArray();
                assertClose(op + " strided", out.toFloatArray(),
                        ReferenceElementwise.binary(op, da, pa.shape(), db, pb.shape()), 1e-30, tolerance(op));
                // a broadcast view (stride 0 along the inner axis) against a strided and a contiguous operand
                Tensor wide = pb.broadcastTo(Shape.of(5, 13, 7));
                float[] dw = wide.toFloatArray();
                Elementwise.binary(pool, op, wide, pa, out);
                assertClose(op + " broadcast view", out.toFloatArray(),
                        ReferenceElementwise.binary(op, dw, wide.shape(), da, pa.shape()), 1e-30, tolerance(op));
                Elementwise.binary(pool, op, wide, tc, out);
                assertClose(op + " broadcast view, contiguous", out.toFloatArray(),
                        ReferenceElementwise.binary(op, dw, wide.shape(), c, tc.shape()), 1e-30, tolerance(op));
            }
        }
    }

    @Test
    void largeBinaryRunsSplitAcrossThreadsAndMatchOneThread() {
        Random rnd = new Random(23);
        Shape s = Shape.of(1, 3, 97, 331);
        try (Tensor a = KernelTestSupport.uniform(rnd, s, -2, 2); Tensor b = KernelTestSupport.uniform(rnd, s, -2, 2);
             Tensor c = KernelTestSupport.uniform(rnd, Shape.of(3, 1, 1), -2, 2);
             Tensor o1 = KernelTestSupport.zeros(s); Tensor o2 = KernelTestSupport.zeros(s)) {
            for (BinaryOp op : new BinaryOp[]{BinaryOp.ADD, BinaryOp.MAX}) {
                Elementwise.binary(pool, op, a, b, o1);
                Elementwise.binary(single, op, a, b, o2);
                assertThat(o1.toFloatArray()).isEqualTo(o2.toFloatArray());
                Elementwise.binary(pool, op, a, c, o1);
                Elementwise.binary(single, op, a, c, o2);
                assertThat(o1.toFloatArray()).isEqualTo(o2.toFloatArray());
            }
        }
    }

    @Test
    void binaryOpsRunInPlace() {
        Random rnd = new Random(24);
        float[] a = KernelTestSupport.uniform(rnd, 97 * 13, -2, 2);
        float[] b = KernelTestSupport.uniform(rnd, 13, -2, 2);
        try (Tensor ta = Tensor.ofFloats(Shape.of(97, 13), a); Tensor tb = Tensor.ofFloats(Shape.of(13), b)) {
            Elementwise.binary(pool, BinaryOp.MUL, ta, tb, ta);
            assertClose("in place", ta.toFloatArray(),
                    ReferenceElementwise.binary(BinaryOp.MUL, a, Shape.of(97, 13), b, Shape.of(13)), 0, 1.2e-7);
        }
    }

    @Test
    void specialValuesFollowJavaSemantics() {
        float[] vals = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f, 2.5f, -3f};
        int n = vals.length;
        // every pair, laid out as [n, n] so that both the vector body and the scalar tail see them
        float[] a = new float[n * n], b = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = vals[i];
                b[i * n + j] = vals[j];
            }
        }
        for (BinaryOp op : BinaryOp.values()) {
            try (Tensor ta = Tensor.ofFloats(Shape.of(n * n), a); Tensor tb = Tensor.ofFloats(Shape.of(n * n), b);
                 Tensor out = KernelTestSupport.zeros(Shape.of(n * n))) {
                Elementwise.binary(pool, op, ta, tb, out);
                float[] got = out.toFloatArray();
                for (int i = 0; i < n * n; i++) {
                    float want = op.apply(a[i], b[i]);
                    // bit patterns (NaNs collapsed): signed zeros must match too
                    assertThat(Float.floatToIntBits(got[i])).as(op + "(" + a[i] + ", " + b[i] + ") = " + got[i])
                            .isEqualTo(Float.floatToIntBits(want));
                }
            }
        }
    }

    private static float[] unaryInput(Random rnd, UnaryOp op, int n) {
        return switch (op) {
            case SQRT, LOG -> KernelTestSupport.uniform(rnd, n, 1e-3f, 50);
            case EXP -> KernelTestSupport.uniform(rnd, n, -20, 20);
            default -> KernelTestSupport.uniform(rnd, n, -6, 6);
        };
    }

    @Test
    void unaryOpsMatchReference() {
        Random rnd = new Random(25);
        int[][] shapes = {{1}, {3}, {7}, {13, 31}, {64}, {97, 3}, {2, 3, 97, 64}, {}};
        for (UnaryOp op : UnaryOp.values()) {
            for (int[] dims : shapes) {
                Shape s = Shape.of(dims);
                float[] x = unaryInput(rnd, op, (int) s.size());
                try (Tensor in = Tensor.ofFloats(s, x); Tensor out = KernelTestSupport.zeros(s)) {
                    Elementwise.unary(pool, op, in, out);
                    double[] want = new double[x.length];
                    for (int i = 0; i < x.length; i++) {
                        want[i] = ReferenceElementwise.unary(op, x[i]);
                    }
                    double abs = op == UnaryOp.ERF ? 2e-7 : 1e-30;
                    double rel = op == UnaryOp.ERF ? 0 : 4e-7;
                    assertClose(op + " " + s, out.toFloatArray(), want, abs, rel);
                }
            }
        }
    }

    @Test
    void unaryOpsAcceptStridedInputsAndRunInPlace() {
        Random rnd = new Random(26);
        for (UnaryOp op : UnaryOp.values()) {
            float[] x = unaryInput(rnd, op, 13 * 31);
            try (Tensor in = Tensor.ofFloats(Shape.of(13, 31), x);
                 Tensor out = KernelTestSupport.zeros(Shape.of(31, 13))) {
                Tensor view = in.transpose(0, 1);
                Elementwise.unary(pool, op, view, out);
                float[] vx = view.toFloatArray();
                float[] got = out.toFloatArray();
                for (int i = 0; i < vx.length; i++) {
                    assertThat(got[i]).as(op + " strided " + i).isEqualTo(op.apply(vx[i]));
                }
                Elementwise.unary(pool, op, in, in);
                double[] want = new double[x.length];
                for (int i = 0; i < x.length; i++) {
                    want[i] = ReferenceElementwise.unary(op, x[i]);
                }
                assertClose(op + " in place", in.toFloatArray(), want, op == UnaryOp.ERF ? 2e-7 : 1e-30,
                        op == UnaryOp.ERF ? 0 : 4e-7);
            }
        }
    }

    @Test
    void erfIsAccurateEverywhereInBothPaths() {
        // a dense grid over [-5, 5] plus the piece boundary at 1 and the clamp at 4 with their float neighbours
        int n = 200_001;
        float[] x = new float[n + 12];
        for (int i = 0; i < n; i++) {
            x[i] = -5f + 10f * i / (n - 1);
        }
        float[] edges = {1f, Math.nextDown(1f), Math.nextUp(1f), -1f, 4f, Math.nextDown(4f), Math.nextUp(4f), 3.9f,
                1e-30f, -1e-8f, Float.MIN_VALUE, 6e-5f};
        System.arraycopy(edges, 0, x, n, edges.length);
        try (Tensor in = Tensor.ofFloats(Shape.of(x.length), x);
             Tensor out = KernelTestSupport.zeros(Shape.of(x.length))) {
            Elementwise.unary(pool, UnaryOp.ERF, in, out);
            float[] got = out.toFloatArray();
            double worstVector = 0, worstScalar = 0, worstRelative = 0;
            float atVector = 0, atScalar = 0, atRelative = 0;
            for (int i = 0; i < x.length; i++) {
                double want = ReferenceElementwise.erf(x[i]);
                double err = Math.abs(got[i] - want);
                double scalarErr = Math.abs(Elementwise.erf(x[i]) - want);
                if (err > worstVector) {
                    worstVector = err;
                    atVector = x[i];
                }
                if (scalarErr > worstScalar) {
                    worstScalar = scalarErr;
                    atScalar = x[i];
                }
                // relative accuracy near zero, where the absolute bound says little (normal floats only)
                if (Math.abs(x[i]) < 1 && Math.abs(x[i]) >= 1e-37 && err / Math.abs(want) > worstRelative) {
                    worstRelative = err / Math.abs(want);
                    atRelative = x[i];
                }
            }
            assertThat(worstVector).as("worst vector erf error, at " + atVector).isLessThanOrEqualTo(2e-7);
            assertThat(worstScalar).as("worst scalar erf error, at " + atScalar).isLessThanOrEqualTo(2e-7);
            assertThat(worstRelative).as("worst relative erf error below 1, at " + atRelative)
                    .isLessThanOrEqualTo(3e-7);
        }
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 10f, -10f, 1e-30f};
        try (Tensor in = Tensor.ofFloats(Shape.of(special.length), special);
             Tensor out = KernelTestSupport.zeros(Shape.of(special.length))) {
            Elementwise.unary(pool, UnaryOp.ERF, in, out);
            float[] got = out.toFloatArray();
            assertThat(got[0]).isNaN();
            assertThat(got).startsWith(Float.NaN, 1f, -1f, 0f, -0f, 1f, -1f);
            assertThat(Float.floatToIntBits(got[4])).isEqualTo(Float.floatToIntBits(-0f));
            assertThat(Elementwise.erf(Float.NaN)).isNaN();
            assertThat(Elementwise.erf(Float.NEGATIVE_INFINITY)).isEqualTo(-1f);
        }
    }

    @Test
    void referenceErfMatchesKnownValues() {
        // values of erf to 16 digits (Abramowitz and Stegun table 7.1, and erf(3))
        assertThat(ReferenceElementwise.erf(0.5)).isCloseTo(0.5204998778130465, offset(1e-15));
        assertThat(ReferenceElementwise.erf(1)).isCloseTo(0.8427007929497149, offset(1e-15));
        assertThat(ReferenceElementwise.erf(2)).isCloseTo(0.9953222650189527, offset(1e-15));
        assertThat(ReferenceElementwise.erf(3)).isCloseTo(0.9999779095030014, offset(1e-15));
        assertThat(ReferenceElementwise.erf(-1)).isCloseTo(-0.8427007929497149, offset(1e-15));
        assertThat(ReferenceElementwise.erf(1e-10)).isCloseTo(1.1283791670955126e-10, offset(1e-24));
    }

    @Test
    void unarySpecialValues() {
        float[] x = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -1f, 100f, -100f, 2f};
        for (UnaryOp op : UnaryOp.values()) {
            try (Tensor in = Tensor.ofFloats(Shape.of(x.length), x);
                 Tensor out = KernelTestSupport.zeros(Shape.of(x.length))) {
                Elementwise.unary(pool, op, in, out);
                float[] got = out.toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    double want = ReferenceElementwise.unary(op, x[i]);
                    // 1e-38: below the smallest normal float, where results like exp(-100) lose relative precision
                    assertClose(op + "(" + x[i] + ")", new float[]{got[i]}, new double[]{want},
                            op == UnaryOp.ERF ? 2e-7 : 1e-38, op == UnaryOp.ERF ? 0 : 4e-7);
                }
            }
        }
    }

    @Test
    void activationInPlaceMatchesReference() {
        Random rnd = new Random(27);
        Activation[] acts = {Activation.NONE, Activation.RELU, Activation.RELU6, Activation.clip(-1, 2),
                Activation.SIGMOID, Activation.SILU, Activation.HARDSWISH};
        for (Activation act : acts) {
            for (int[] dims : new int[][]{{1}, {7}, {13, 97}, {3, 64, 31}}) {
                Shape s = Shape.of(dims);
                float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), -8, 8);
                double[] want = new double[x.length];
                for (int i = 0; i < x.length; i++) {
                    want[i] = ReferenceActivation.apply(act, x[i]);
                }
                try (Tensor t = Tensor.ofFloats(s, x)) {
                    Elementwise.activate(pool, act, t);
                    assertClose(act + " " + s, t.toFloatArray(), want, 1e-7, 1e-6);
                }
            }
            // a transposed (strided) tensor is activated through its view
            float[] x = KernelTestSupport.uniform(rnd, 13 * 7, -8, 8);
            try (Tensor t = Tensor.ofFloats(Shape.of(13, 7), x)) {
                Elementwise.activate(pool, act, t.transpose(0, 1));
                double[] want = new double[x.length];
                for (int i = 0; i < x.length; i++) {
                    want[i] = ReferenceActivation.apply(act, x[i]);
                }
                assertClose(act + " strided", t.toFloatArray(), want, 1e-7, 1e-6);
            }
        }
    }

    @Test
    void rejectsBadShapesAndTypes() {
        try (Tensor a = KernelTestSupport.zeros(Shape.of(2, 3)); Tensor b = KernelTestSupport.zeros(Shape.of(4));
             Tensor out = KernelTestSupport.zeros(Shape.of(2, 3));
             Tensor wrong = KernelTestSupport.zeros(Shape.of(3, 2));
             Tensor ints = Tensor.allocate(DType.INT64, Shape.of(2, 3))) {
            assertThatThrownBy(() -> Elementwise.binary(pool, BinaryOp.ADD, a, b, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]")
                    .hasMessageContaining("[4]").hasMessageContaining("Add");
            assertThatThrownBy(() -> Elementwise.binary(pool, BinaryOp.MUL, a, a, wrong))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]")
                    .hasMessageContaining("[3, 2]");
            assertThatThrownBy(() -> Elementwise.binary(pool, BinaryOp.SUB, ints, a, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Elementwise.binary(pool, BinaryOp.SUB, a, a, a.transpose(0, 1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 2]");
            assertThatThrownBy(() -> Elementwise.unary(pool, UnaryOp.EXP, a, wrong))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]")
                    .hasMessageContaining("[3, 2]");
            assertThatThrownBy(() -> Elementwise.unary(pool, UnaryOp.EXP, ints, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Elementwise.activate(pool, Activation.RELU, ints))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Elementwise.activate(pool, Activation.RELU, b.broadcastTo(Shape.of(3, 4))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("broadcast");
        }
    }
}
