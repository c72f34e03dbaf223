package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.tandem.runtime.kernels.KernelTestSupport.abs;
import static dev.tandem.runtime.kernels.KernelTestSupport.random;
import static dev.tandem.runtime.kernels.KernelTestSupport.toDouble;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.reference.ReferenceActivation;
import dev.tandem.runtime.kernels.reference.ReferenceGemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Sgemm} against the double-precision {@link ReferenceGemm} on random shapes, at this JVM's SIMD width. */
@Tag("simd")
class GemmTest extends PooledKernelTest {



    record Case(int m, int n, int k, boolean ta, boolean tb, float alpha, float beta, int pad, boolean smallBlocks) {
    }

    static List<Case> cases() {
        int nr = Sgemm.NR, mr = Sgemm.MR;
        int[][] sizes = {
            {1, 1, 1}, {1, 7, 3}, {7, 1, 5}, {mr, nr, 1}, {mr - 1, nr + 1, 13}, {mr + 1, nr - 1, 31},
            {13, 97, 64}, {97, 13, 257}, {31, 31, 255}, {64, 64, 256}, {2, 300, 7}, {300, 2, 7},
            {101, 149, 300}, {12, 2 * nr, 513}, {1, 1000, 17}, {18, 40, 20}, {19, 33, 9}, {25, 65, 70},
            // remainders of 4, 7 and 8 rows (8-row panels; 12 + 4 rows become 8 + 8), and a lone 8-row panel
            {16, 50, 30}, {20, 70, 40}, {8, 33, 19}, {40, 90, 65}, {128, 64, 100}, {64, 200, 576},
            // last column tiles of one vector and one vector plus a column (narrow 12-row kernels, 7x7 and 14x14
            // convolution outputs), with A ending on a whole 12-row panel (its last panel takes the wide kernel)
            {24, 49, 96}, {26, 81, 50}, {36, nr / 2 + 1, 40}, {48, 196, 33}, {12, nr / 2, 7}
        };
        List<Case> out = new ArrayList<>();
        Random r = new Random(42);
        for (int[] s : sizes) {
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                float alpha = r.nextBoolean() ? 1f : -0.75f;
                float beta = switch (r.nextInt(3)) {
                    case 0 -> 0f;
                    case 1 -> 1f;
                    default -> 0.5f;
                };
                out.add(new Case(s[0], s[1], s[2], ta, tb, alpha, beta, r.nextInt(3), variant == 3));
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesReference(Case c) {
        Random r = new Random(c.hashCode());
        int lda = (c.ta ? c.m : c.k) + c.pad, ldb = (c.tb ? c.k : c.n) + c.pad, ldc = c.n + c.pad;
        float[] a = random(r, (c.ta ? c.k : c.m) * lda);
        float[] b = random(r, (c.tb ? c.n : c.k) * ldb);
        float[] c0 = random(r, c.m * ldc);
        double[] want = toDouble(c0);
        ReferenceGemm.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc);
        double[] bound = new double[want.length];
        ReferenceGemm.gemm(c.ta, c.tb, c.m, c.n, c.k, Math.abs(c.alpha), abs(a), lda, abs(b), ldb, 0, bound, ldc);

        Sgemm gemm = c.smallBlocks ? new Sgemm(pool, 16, 2 * Sgemm.NR) : new Sgemm(pool);
        try (Arena arena = Arena.ofShared()) {
            // offsets of a few elements check that element offsets are honoured
            MemorySegment as = segment(arena, a, 3), bs = segment(arena, b, 5), cs = segment(arena, c0, 1);
            gemm.gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, as, 3, lda, bs, 5, ldb, c.beta, cs, 1, ldc);
            float[] got = new float[c0.length];
            MemorySegment.copy(cs, ValueLayout.JAVA_FLOAT, 4, got, 0, got.length);
            for (int i = 0; i < c.m; i++) {
                for (int j = 0; j < ldc; j++) {
                    int x = i * ldc + j;
                    if (j >= c.n) {
                        assertThat(got[x]).as("padding column must stay untouched").isEqualTo(c0[x]);
                        continue;
                    }
                    double tol = 1e-5 * (bound[x] + Math.abs(c.beta * c0[x])) + 1e-6;
                    assertThat((double) got[x]).as("C[%d,%d] of %s", i, j, c).isCloseTo(want[x],
                            org.assertj.core.data.Offset.offset(tol));
                }
            }
        }
    }

    /** {@code PackedA.get} and {@code set} address every panel scheme (short tails, 8-row tails, 12 + 4 as 8 + 8). */
    @Test
    void packedElementsAreAddressedInEveryPanelLayout() {
        Random r = new Random(11);
        for (int m : new int[] {1, 4, 6, 7, 8, 12, 20, 31, 64, 70, 256}) {
            int k = 5;
            float[] a = random(r, m * k);
            Sgemm.PackedA packed = Sgemm.packA(false, m, k, MemorySegment.ofArray(a), 0, k);
            Sgemm.PackedA built = Sgemm.PackedA.zeros(m, k);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < k; j++) {
                    assertThat(packed.get(i, j)).as("m %d (%d, %d)", m, i, j).isEqualTo(a[i * k + j]);
                    built.set(i, j, a[i * k + j]);
                }
            }
            assertThat(built.data).as("m %d", m).containsExactly(packed.data);
        }
        assertThatThrownBy(() -> Sgemm.PackedA.zeros(3, 2).get(3, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    /** B as column panels of 2·NR (a classifier's weights laid out for the matrix-vector kernel). */
    @Test
    void columnPanelsOfBMatchThePlainProduct() {
        Random r = new Random(13);
        int pw = 2 * Sgemm.NR;
        for (int[] s : new int[][] {{5, 70, 200}, {33, pw, 17}, {9, 1, 3}, {64, 3 * pw + 5, 1300}}) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean ta : new boolean[] {false, true}) {
                float[] a = random(r, m * k), b = random(r, k * n), c0 = random(r, m * n);
                int panels = (n + pw - 1) / pw;
                float[] bp = new float[panels * pw * k];
                for (int q = 0; q < k; q++) {
                    for (int j = 0; j < n; j++) {
                        bp[j / pw * pw * k + q * pw + j % pw] = b[q * n + j];
                    }
                }
                float[] at = ta ? new float[k * m] : a;
                if (ta) {
                    for (int i = 0; i < m; i++) {
                        for (int q = 0; q < k; q++) {
                            at[q * m + i] = a[i * k + q];
                        }
                    }
                }
                double[] want = toDouble(c0);
                ReferenceGemm.gemm(false, false, m, n, k, 0.5f, a, k, b, n, 1f, want, n);
                float[] got = c0.clone();
                new Sgemm(pool).gemmColumnPanels(ta, m, n, k, 0.5f, MemorySegment.ofArray(at), 0, ta ? m : k, bp, pw,
                        1f, MemorySegment.ofArray(got), 0, n);
                for (int x = 0; x < got.length; x++) {
                    assertThat((double) got[x]).as("%dx%dx%d ta %s element %d", m, n, k, ta, x)
                            .isCloseTo(want[x], org.assertj.core.data.Offset.offset(1e-4 * Math.sqrt(k)));
                }
            }
        }
        assertThatThrownBy(() -> new Sgemm(pool).gemmColumnPanels(false, 1, 70, 2, 1f, MemorySegment.ofArray(
                new float[2]), 0, 2, new float[2 * 70], pw, 0f, MemorySegment.ofArray(new float[70]), 0, 70))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("need " + (70 + pw - 1) / pw * pw * 2);
    }

    @Test
    void betaZeroIgnoresNaNInOutput() {
        float[] a = random(new Random(1), 9 * 20), b = random(new Random(2), 20 * 33);
        float[] c = new float[9 * 33];
        java.util.Arrays.fill(c, Float.NaN);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment cs = segment(arena, c, 0);
            new Sgemm(pool).gemm(false, false, 9, 33, 20, 1f, segment(arena, a, 0), 0, 20, segment(arena, b, 0), 0,
                    33, 0f, cs, 0, 33);
            for (long i = 0; i < c.length; i++) {
                assertThat(cs.getAtIndex(ValueLayout.JAVA_FLOAT, i)).isNotNaN();
            }
        }
    }

    @Test
    void emptyDepthScalesByBetaAndAddsBias() {
        float[] c = {1, 2, 3, 4, 5, 6};
        try (Arena arena = Arena.ofShared()) {
            MemorySegment cs = segment(arena, c, 0);
            MemorySegment none = arena.allocate(4);
            new Sgemm(pool).gemm(false, false, 2, 3, 0, 1f, none, 0, 1, none, 0, 3, 2f, cs, 0, 3,
                    new float[] {10, -100}, Activation.RELU);
            float[] got = cs.asSlice(0, 4 * 6).toArray(ValueLayout.JAVA_FLOAT);
            assertThat(got).containsExactly(12, 14, 16, 0, 0, 0);
        }
    }

    /**
     * B of one column (a 1×1 convolution of a 1×1 image): the one-column product, every panel height (12, 8, 6 and
     * short), B stored plain or transposed with padded rows, k past the depth block, beta 0 and 1, bias and
     * activation, alpha not 1; packed and unpacked A.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
        "48, 1152, false, 0, 1", "20, 5, true, 1, 1", "13, 1300, false, 1, 0.5", "1, 3, true, 0, 1",
        "28, 64, false, 0, 2", "6, 7, true, 1, 1", "160, 2500, false, 0, 1", "1000, 1280, true, 1, 1"})
    void oneColumnMatchesReference(int m, int k, boolean transB, float beta, float alpha) {
        Random r = new Random(m * 7 + k);
        int ldb = transB ? k + 2 : 3;   // B stored k×1 with row stride 3, or 1×k (padded)
        int ldc = k % 2 == 0 ? 1 : 2;   // C a contiguous column, or every second element
        float[] a = random(r, m * k), b = random(r, transB ? ldb : k * ldb), bias = random(r, m);
        float[] c0 = random(r, m * ldc);
        float[] bCol = new float[k];
        for (int i = 0; i < k; i++) {
            bCol[i] = transB ? b[i] : b[i * ldb];
        }
        double[] want = new double[m];
        for (int i = 0; i < m; i++) {
            want[i] = c0[i * ldc];
        }
        ReferenceGemm.gemm(false, false, m, 1, k, alpha, a, k, bCol, 1, beta, want, 1);
        double[] bound = new double[m];
        ReferenceGemm.gemm(false, false, m, 1, k, Math.abs(alpha), abs(a), k, abs(bCol), 1, 0, bound, 1);
        for (Activation act : List.of(Activation.NONE, Activation.RELU6, Activation.SILU)) {
            for (int how = 0; how < 3; how++) {
                boolean prepacked = how > 0;
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment as = segment(arena, a, 0), bs = segment(arena, b, 2), cs = segment(arena, c0, 0);
                    Sgemm g = new Sgemm(pool);
                    if (how == 2) {
                        // a packer of its own (as a convolution's): the column through BPacker's default, in blocks
                        Sgemm.BPacker packer = (p0, kc, j0, nc, dst, off) -> {
                            for (int kk = 0; kk < kc; kk++) {
                                java.util.Arrays.fill(dst, off + kk * Sgemm.NR, off + (kk + 1) * Sgemm.NR, 0f);
                                dst[off + kk * Sgemm.NR] = bCol[p0 + kk];
                            }
                        };
                        g.gemm(Sgemm.packA(false, m, k, as, 0, k), packer, 1, beta, new Sgemm.MatrixC(cs, 0, ldc),
                                bias, act);
                        if (alpha != 1f) {
                            continue;   // this entry point has no alpha
                        }
                    } else if (prepacked) {
                        g.gemm(Sgemm.packA(false, m, k, as, 0, k), transB, 1, alpha, bs, 2, ldb, beta, cs, 0, ldc,
                                bias, act);
                    } else {
                        g.gemm(false, transB, m, 1, k, alpha, as, 0, k, bs, 2, ldb, beta, cs, 0, ldc, bias, act);
                    }
                    for (int i = 0; i < m; i++) {
                        double expect = ReferenceActivation.apply(act, want[i] + bias[i]);
                        double tol = 1e-5 * (bound[i] + Math.abs(beta * c0[i * ldc]) + 1) + 1e-6;
                        if (ldc == 2) {
                            assertThat(cs.getAtIndex(ValueLayout.JAVA_FLOAT, 2L * i + 1)).as("between the rows")
                                    .isEqualTo(c0[2 * i + 1]);
                        }
                        assertThat((double) cs.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * ldc))
                                .as("%s C[%d] m=%d k=%d transB=%s prepacked=%s", act, i, m, k, transB, prepacked)
                                .isCloseTo(expect, org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("activations")
    void packedWeightsWithBiasAndActivation(Activation act) {
        Random r = new Random(7);
        int m = 37, n = 83, k = 300;
        float[] a = random(r, m * k), b = random(r, k * n), bias = random(r, m);
        double[] want = new double[m * n];
        ReferenceGemm.gemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n);
        double[] bound = new double[m * n];
        ReferenceGemm.gemm(false, false, m, n, k, 1, abs(a), k, abs(b), n, 0, bound, n);
        try (Arena arena = Arena.ofShared()) {
            Sgemm.PackedA packed = Sgemm.packA(false, m, k, segment(arena, a, 0), 0, k);
            MemorySegment cs = arena.allocate(4L * m * n);
            new Sgemm(pool, 64, 64).gemm(packed, false, n, 1f, segment(arena, b, 0), 0, n, 0f, cs, 0, n, bias, act);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double expect = ReferenceActivation.apply(act, want[i * n + j] + bias[i]);
                    float got = cs.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j);
                    assertThat((double) got).as("%s C[%d,%d]", act, i, j)
                            .isCloseTo(expect, org.assertj.core.data.Offset.offset(2e-5 * (bound[i * n + j] + 1)));
                }
            }
        }
    }

    /**
     * B at least {@code Sgemm.IN_PLACE_MIN_WIDTH} wide in native memory, alpha 1, beta 0 or 1, a clamp or none: the
     * store kernels read B where it lies (12- and 8-row panels, whole column tiles; a partial last tile packed). Row
     * counts with 6-row or short panels fall back to packing; k past the depth block (1200) takes a second block
     * with beta 1. Element offsets and padded rows check the addressing.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
        "12, 512, 7, 0, true", "24, 530, 33, 0, true", "16, 600, 20, 1, true", "32, 1000, 70, 1, true",
        "20, 515, 9, 0, true", "64, 544, 96, 1, true", "18, 520, 15, 0, true", "13, 640, 40, 1, true",
        "24, 520, 1300, 0, true", "8, 700, 5, 1, true", "32, 1000, 70, 1, false", "16, 600, 20, 1, false",
        "24, 520, 1300, 0, false"})
    void wideBReadInPlaceMatchesReference(int m, int n, int k, float beta, boolean clamp) {
        // these shapes cover the in-place path only while they are at least as wide as its threshold
        assertThat(n).isGreaterThanOrEqualTo(Sgemm.IN_PLACE_MIN_WIDTH);
        Random r = new Random(m * 31 + n + k);
        int ldb = n + 3, ldc = n + 2;
        float[] a = random(r, m * k), b = random(r, k * ldb), c0 = random(r, m * ldc), bias = random(r, m);
        double[] want = toDouble(c0);
        ReferenceGemm.gemm(false, false, m, n, k, 1f, a, k, b, ldb, beta, want, ldc);
        double[] bound = new double[want.length];
        ReferenceGemm.gemm(false, false, m, n, k, 1f, abs(a), k, abs(b), ldb, 0, bound, ldc);
        // beta 1 with a clamp: the beta-1 kernels store unclamped and a pass clamps the tile; without one (a
        // residual projection), nothing clamps
        Activation act = clamp ? Activation.clip(-0.5f, 0.75f) : Activation.NONE;
        try (Arena arena = Arena.ofShared()) {
            Sgemm.PackedA packed = Sgemm.packA(false, m, k, segment(arena, a, 0), 0, k);
            MemorySegment bs = segment(arena, b, 5), cs = segment(arena, c0, 1);
            new Sgemm(pool).gemm(packed, false, n, 1f, bs, 5, ldb, beta, cs, 1, ldc, bias, act);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldc; j++) {
                    int x = i * ldc + j;
                    float got = cs.getAtIndex(ValueLayout.JAVA_FLOAT, 1L + x);
                    if (j >= n) {
                        assertThat(got).as("padding column must stay untouched").isEqualTo(c0[x]);
                        continue;
                    }
                    double expect = ReferenceActivation.apply(act, want[x] + bias[i]);
                    double tol = 1e-5 * (bound[x] + Math.abs(beta * c0[x]) + 1) + 1e-6;
                    assertThat((double) got).as("C[%d,%d] m=%d n=%d k=%d beta=%s", i, j, m, n, k, beta)
                            .isCloseTo(expect, org.assertj.core.data.Offset.offset(tol));
                }
            }
        }
    }

    static List<Activation> activations() {
        return List.of(Activation.NONE, Activation.RELU, Activation.RELU6, Activation.clip(-0.5f, 0.25f),
                Activation.SIGMOID, Activation.SILU, Activation.HARDSWISH);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"70, 333, 129", "333, 70, 129", "500, 20, 700"})
    void sameResultOnOneThreadAndMany(int m, int n, int k) {
        Random r = new Random(3);
        float[] a = random(r, m * k), b = random(r, k * n);
        try (Arena arena = Arena.ofShared(); ThreadPool one = ThreadPool.singleThreaded()) {
            MemorySegment as = segment(arena, a, 0), bs = segment(arena, b, 0);
            MemorySegment c1 = arena.allocate(4L * m * n), c3 = arena.allocate(4L * m * n);
            new Sgemm(one).gemm(false, false, m, n, k, 1f, as, 0, k, bs, 0, n, 0f, c1, 0, n);
            // wide outputs are split by columns, tall ones by rows with B packed once and shared
            new Sgemm(pool).gemm(false, false, m, n, k, 1f, as, 0, k, bs, 0, n, 0f, c3, 0, n);
            // each C element is computed by the same sequence of operations whichever thread owns it
            assertThat(c3.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(c1.toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void rejectsOperandsThatDoNotFit() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment small = arena.allocate(4L * 10);
            MemorySegment big = arena.allocate(4L * 1000);
            Sgemm g = new Sgemm(pool);
            assertThatThrownBy(() -> g.gemm(false, false, 4, 4, 4, 1f, small, 0, 4, big, 0, 4, 0f, big, 0, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("operand A");
            assertThatThrownBy(() -> g.gemm(false, false, 4, 4, 4, 1f, big, 0, 3, big, 0, 4, 0f, big, 0, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leading dimension 3");
            assertThatThrownBy(() -> g.gemm(false, false, -1, 4, 4, 1f, big, 0, 4, big, 0, 4, 0f, big, 0, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("m=-1");
        }
    }

    static MemorySegment segment(Arena arena, float[] values, int elementOffset) {
        MemorySegment s = arena.allocate(4L * (values.length + elementOffset + 1));
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 4L * elementOffset, values.length);
        return s;
    }
}
