package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.reference.ReferencePooling;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class PoolingTest extends PooledKernelTest {



    private record Case(int n, int c, int h, int w, ConvParams p, boolean ceil, boolean includePad) {
    }

    /** Random geometries over the test sizes; those whose window does not fit are skipped. */
    private static Case randomCase(Random rnd) {
        while (true) {
            int kh = 1 + rnd.nextInt(4), kw = 1 + rnd.nextInt(4);
            int dh = rnd.nextInt(4) == 0 ? 2 : 1, dw = rnd.nextInt(4) == 0 ? 2 : 1;
            ConvParams p = new ConvParams(kh, kw, 1 + rnd.nextInt(3), rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(3) : 1,
                    rnd.nextInt(kh), rnd.nextInt(kw), rnd.nextInt(kh), rnd.nextInt(kw), dh, dw, 1);
            int h = KernelTestSupport.pick(rnd, KernelTestSupport.SIZES);
            int w = KernelTestSupport.pick(rnd, KernelTestSupport.SIZES);
            boolean ceil = rnd.nextBoolean();
            try {
                Pooling.outputShape(Shape.of(1, 1, h, w), p, ceil);
            } catch (IllegalArgumentException e) {
                continue;
            }
            return new Case(1 + rnd.nextInt(2), KernelTestSupport.pick(rnd, 1, 3, 5), h, w, p, ceil,
                    rnd.nextBoolean());
        }
    }

    @Test
    void maxPoolMatchesReferenceOnRandomGeometries() {
        Random rnd = new Random(1);
        for (int t = 0; t < 150; t++) {
            Case k = randomCase(rnd);
            float[] x = KernelTestSupport.uniform(rnd, k.n * k.c * k.h * k.w, -3, 3);
            float[] got = runMax(pool, k, x);
            double[] want = ReferencePooling.maxPool(x, k.n, k.c, k.h, k.w, k.p, k.ceil);
            // a max is one of the inputs: exact
            assertClose("max pool " + k, got, want, 0, 0);
        }
    }

    @Test
    void averagePoolMatchesReferenceOnRandomGeometries() {
        Random rnd = new Random(2);
        for (int t = 0; t < 150; t++) {
            Case k = randomCase(rnd);
            float[] x = KernelTestSupport.uniform(rnd, k.n * k.c * k.h * k.w, -3, 3);
            float[] got = runAvg(pool, k, x);
            double[] want = ReferencePooling.averagePool(x, k.n, k.c, k.h, k.w, k.p, k.ceil, k.includePad);
            // at most 16 taps of magnitude <= 3, summed in float
            assertClose("average pool " + k, got, want, 3e-6, 1e-6);
        }
    }

    @Test
    void largePlanesRunInParallelAndMatchOneThread() {
        Random rnd = new Random(3);
        ConvParams[] geoms = {ConvParams.square(3, 1, 1), ConvParams.square(3, 2, 1),
                new ConvParams(2, 5, 1, 1, 1, 2, 0, 2, 1, 2, 1)};
        for (ConvParams p : geoms) {
            for (boolean ceil : new boolean[]{false, true}) {
                for (int w : new int[] {64, 61}) {   // 61: output rows that end inside a vector
                    Case k = new Case(2, 3, 97, w, p, ceil, ceil);
                    float[] x = KernelTestSupport.uniform(rnd, 2 * 3 * 97 * w, -1, 1);
                    assertThat(runMax(pool, k, x)).isEqualTo(runMax(single, k, x));
                    assertThat(runAvg(pool, k, x)).isEqualTo(runAvg(single, k, x));
                    assertClose("max " + k, runMax(pool, k, x), ReferencePooling.maxPool(x, 2, 3, 97, w, p, ceil), 0,
                            0);
                    assertClose("avg " + k, runAvg(pool, k, x),
                            ReferencePooling.averagePool(x, 2, 3, 97, w, p, ceil, ceil), 2e-6, 1e-6);
                }
            }
        }
    }

    @Test
    void knownValuesOf2x2Stride2() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        Case k = new Case(1, 1, 4, 4, ConvParams.square(2, 2, 0), false, false);
        assertThat(runMax(pool, k, x)).containsExactly(6, 8, 14, 16);
        assertThat(runAvg(pool, k, x)).containsExactly(3.5f, 5.5f, 11.5f, 13.5f);
    }

    @Test
    void ceilModeDivisorCountsPaddingButNotTheOverhang() {
        // 6×6 ones, 3×3 window, stride 2, pad 1, ceil: 4×4 output; the last window covers input 5, pad 6 and
        // overhang 7, so with count_include_pad it divides by 2 per axis (PyTorch and ONNX Runtime).
        float[] x = new float[36];
        Arrays.fill(x, 1f);
        ConvParams p = ConvParams.square(3, 2, 1);
        assertThat(Pooling.outputShape(Shape.of(1, 1, 6, 6), p, true)).isEqualTo(Shape.of(1, 1, 4, 4));
        float[] incl = runAvg(pool, new Case(1, 1, 6, 6, p, true, true), x);
        assertThat(incl[0]).isEqualTo(4f / 9f);
        assertThat(incl[15]).isEqualTo(0.25f);
        assertThat(incl[3]).isEqualTo(2f / 6f);
        float[] excl = runAvg(pool, new Case(1, 1, 6, 6, p, true, false), x);
        for (float v : excl) {
            assertThat(v).isEqualTo(1f);
        }
    }

    @Test
    void ceilModeDropsAWindowStartingInTheEndPadding() {
        // in 4, k 2, s 2, pad 1+1: floor gives 3; ceil would give 4 but that window starts at 6 - 1 = 5 > 4.
        ConvParams p = ConvParams.square(2, 2, 1);
        assertThat(Pooling.outputShape(Shape.of(1, 1, 4, 4), p, true)).isEqualTo(Shape.of(1, 1, 3, 3));
    }

    @Test
    void maxPoolPaddingActsAsMinusInfinity() {
        float[] x = new float[9];
        Arrays.fill(x, -5f);
        x[4] = -7f;
        float[] got = runMax(pool, new Case(1, 1, 3, 3, ConvParams.square(3, 1, 2), false, false), x);
        for (float v : got) {
            assertThat(v).isEqualTo(-5f);
        }
        // a window entirely in padding (pad >= kernel) has no input: -inf for max, NaN for average without pads
        ConvParams wide = new ConvParams(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1);
        float[] m = runMax(pool, new Case(1, 1, 3, 3, wide, false, false), x);
        assertThat(m[0]).isEqualTo(Float.NEGATIVE_INFINITY);
        float[] a = runAvg(pool, new Case(1, 1, 3, 3, wide, false, false), x);
        assertThat(a[0]).isNaN();
        assertThat(runAvg(pool, new Case(1, 1, 3, 3, wide, false, true), x)[0]).isEqualTo(0f);
    }

    @Test
    void maxPool2x2FastPathMatchesTheReferenceWithNaNSignedZerosAndOddSizes() {
        Random rnd = new Random(9);
        ConvParams p = ConvParams.square(2, 2, 0);
        for (int[] d : new int[][] {{3, 4, 28, 28}, {2, 5, 14, 14}, {4, 3, 7, 9}, {2, 4, 2, 2}, {3, 3, 5, 33},
            {2, 2, 6, 70}}) {
            float[] x = KernelTestSupport.uniform(rnd, d[0] * d[1] * d[2] * d[3], -3, 3);
            x[3] = Float.NaN;
            x[x.length / 2] = -0f;
            x[x.length / 2 + 1] = 0f;
            x[x.length - 1] = Float.NEGATIVE_INFINITY;
            Case k = new Case(d[0], d[1], d[2], d[3], p, false, false);
            float[] got = runMax(pool, k, x);
            double[] want = ReferencePooling.maxPool(x, d[0], d[1], d[2], d[3], p, false);
            assertClose("2x2 max pool " + k, got, want, 0, 0);
            // the separable path (one plane per call: below the fast path's batch threshold) gives the same bits
            int plane = d[2] * d[3], outPlane = (d[2] / 2) * (d[3] / 2);
            for (int pi = 0; pi < d[0] * d[1]; pi++) {
                float[] one = java.util.Arrays.copyOfRange(x, pi * plane, (pi + 1) * plane);
                float[] sep = runMax(pool, new Case(1, 1, d[2], d[3], p, false, false), one);
                for (int i = 0; i < outPlane; i++) {
                    assertThat(Float.floatToRawIntBits(got[pi * outPlane + i])).as("%s plane %d element %d", k, pi, i)
                            .isEqualTo(Float.floatToRawIntBits(sep[i]));
                }
            }
        }
    }

    @Test
    void maxPoolPropagatesNaN() {
        Random rnd = new Random(4);
        float[] x = KernelTestSupport.uniform(rnd, 13 * 31, -1, 1);
        x[5 * 31 + 7] = Float.NaN;
        Case k = new Case(1, 1, 13, 31, ConvParams.square(3, 1, 1), false, false);
        float[] got = runMax(pool, k, x);
        assertClose("NaN max pool", got, ReferencePooling.maxPool(x, 1, 1, 13, 31, k.p, false), 0, 0);
        assertThat(got[5 * 31 + 7]).isNaN();
        assertThat(got[4 * 31 + 6]).isNaN();
        assertThat(got[0]).isNotNaN();
    }

    @Test
    void globalPoolsMatchReference() {
        Random rnd = new Random(5);
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 7, 13}, {1, 5, 31, 1}, {3, 64, 7, 7}, {1, 2, 97, 97}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], h = s[2], w = s[3];
            float[] x = KernelTestSupport.uniform(rnd, n * c * h * w, -2, 5);
            try (Tensor in = Tensor.ofFloats(Shape.of(s), x);
                 Tensor avg = KernelTestSupport.zeros(Shape.of(n, c, 1, 1));
                 Tensor max = KernelTestSupport.zeros(Shape.of(n, c, 1, 1))) {
                Pooling.globalAveragePool(pool, in, avg);
                Pooling.globalMaxPool(pool, in, max);
                assertClose("global avg " + Arrays.toString(s), avg.toFloatArray(),
                        ReferencePooling.globalAveragePool(x, n, c, h, w), 1e-6, 1e-6);
                assertClose("global max " + Arrays.toString(s), max.toFloatArray(),
                        ReferencePooling.globalMaxPool(x, n, c, h, w), 0, 0);
            }
        }
    }

    @Test
    void globalPoolsHandleSpecialValuesAndEmptyPlanes() {
        float[] x = {1, Float.NaN, 3, 4, 1, Float.POSITIVE_INFINITY, 2, 3};
        try (Tensor in = Tensor.ofFloats(Shape.of(1, 2, 2, 2), x);
             Tensor out = KernelTestSupport.zeros(Shape.of(1, 2, 1, 1))) {
            Pooling.globalMaxPool(pool, in, out);
            assertThat(out.toFloatArray()[0]).isNaN();
            assertThat(out.toFloatArray()[1]).isEqualTo(Float.POSITIVE_INFINITY);
            Pooling.globalAveragePool(pool, in, out);
            assertThat(out.toFloatArray()[0]).isNaN();
            assertThat(out.toFloatArray()[1]).isEqualTo(Float.POSITIVE_INFINITY);
        }
        try (Tensor in = KernelTestSupport.zeros(Shape.of(1, 2, 0, 3));
             Tensor out = KernelTestSupport.zeros(Shape.of(1, 2, 1, 1))) {
            Pooling.globalMaxPool(pool, in, out);
            assertThat(out.toFloatArray()).containsExactly(Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY);
            Pooling.globalAveragePool(pool, in, out);
            assertThat(out.toFloatArray()[0]).isNaN();
        }
        try (Tensor in = KernelTestSupport.zeros(Shape.of(0, 2, 3, 3));
             Tensor out = KernelTestSupport.zeros(Shape.of(0, 2, 2, 2))) {
            Pooling.maxPool(pool, in, out, ConvParams.square(2, 1, 0), false);
        }
    }

    @Test
    void rejectsBadShapesAndTypes() {
        ConvParams p = ConvParams.square(2, 2, 0);
        try (Tensor in3 = KernelTestSupport.zeros(Shape.of(2, 4, 4));
             Tensor in = KernelTestSupport.zeros(Shape.of(1, 2, 6, 6));
             Tensor wrongOut = KernelTestSupport.zeros(Shape.of(1, 2, 4, 4));
             Tensor out = KernelTestSupport.zeros(Shape.of(1, 2, 3, 3));
             Tensor ints = Tensor.allocate(DType.INT64, Shape.of(1, 2, 6, 6))) {
            assertThatThrownBy(() -> Pooling.maxPool(pool, in3, out, p, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[N, C, H, W]")
                    .hasMessageContaining("[2, 4, 4]");
            assertThatThrownBy(() -> Pooling.averagePool(pool, in, wrongOut, p, false, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2, 3, 3]")
                    .hasMessageContaining("[1, 2, 4, 4]");
            assertThatThrownBy(() -> Pooling.maxPool(pool, ints, out, p, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Pooling.maxPool(pool, in.transpose(2, 3), out, p, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguous");
            assertThatThrownBy(() -> Pooling.maxPool(pool, in, out, p.withGroups(2), false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups");
            assertThatThrownBy(() -> Pooling.maxPool(pool, in, out, ConvParams.square(7, 1, 0), false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
            assertThatThrownBy(() -> Pooling.globalAveragePool(pool, in, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2, 1, 1]")
                    .hasMessageContaining("[1, 2, 3, 3]");
        }
    }

    private static float[] runMax(ThreadPool tp, Case k, float[] x) {
        Shape in = Shape.of(k.n, k.c, k.h, k.w);
        try (Tensor t = Tensor.ofFloats(in, x); Tensor out = KernelTestSupport.zeros(
                Pooling.outputShape(in, k.p, k.ceil))) {
            Pooling.maxPool(tp, t, out, k.p, k.ceil);
            return out.toFloatArray();
        }
    }

    private static float[] runAvg(ThreadPool tp, Case k, float[] x) {
        Shape in = Shape.of(k.n, k.c, k.h, k.w);
        try (Tensor t = Tensor.ofFloats(in, x); Tensor out = KernelTestSupport.zeros(
                Pooling.outputShape(in, k.p, k.ceil))) {
            Pooling.averagePool(tp, t, out, k.p, k.ceil, k.includePad);
            return out.toFloatArray();
        }
    }
}
