package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link DepthwiseFlat} called directly, on plane sizes {@code Conv2d} never gives it (it takes outputs wider than
 * 8 only): one-value and one-row planes, planes smaller than a vector, planes just below and above the size read in
 * place. Every plane of a tensor is computed, so the last one ends at the end of its memory segment: a read past a
 * plane's end would throw there.
 */
@Tag("simd")
class DepthwiseFlatTest {

    @Test
    void strideOneMatchesTheReferenceOnEveryPlaneSize() {
        int[][] sizes = {{1, 1}, {1, 2}, {2, 1}, {3, 3}, {1, 17}, {17, 1}, {4, 5}, {7, 7}, {5, 16}, {16, 16},
            {31, 33}, {32, 32}, {33, 31}, {1, 1100}, {2, 600}, {40, 40}};
        for (int[] s : sizes) {
            check(1, s[0], s[1], Activation.RELU6);
            check(1, s[0], s[1], Activation.SILU);
        }
    }

    @Test
    void strideTwoMatchesTheReferenceOnEveryEvenPlaneSize() {
        int[][] sizes = {{2, 2}, {2, 4}, {4, 2}, {2, 12}, {6, 14}, {2, 32}, {2, 34}, {10, 64}, {64, 10}, {18, 34},
            {40, 40}};
        for (int[] s : sizes) {
            check(2, s[0], s[1], Activation.RELU);
            check(2, s[0], s[1], Activation.HARDSWISH);
        }
    }

    @Test
    void fiveByFiveMatchesTheReferenceOnEveryPlaneSize() {
        int[][] sizes = {{1, 1}, {1, 2}, {2, 1}, {3, 3}, {1, 17}, {17, 1}, {5, 5}, {4, 6}, {7, 7}, {5, 16},
            {14, 14}, {16, 16}, {28, 28}, {31, 33}, {1, 40}, {3, 100}};
        for (int[] s : sizes) {
            check5(s[0], s[1], Activation.RELU6, -1);
            check5(s[0], s[1], Activation.SILU, -1);
        }
    }

    /**
     * The taps one and two columns past a row's ends read the neighbouring rows' first or last values (here +Inf
     * in column 0, then in the last column): they must be left out, not multiplied by zero (that would make NaN
     * in the outputs at the other edge); every output the reference computes finite must come out the same.
     */
    @Test
    void fiveByFiveKeepsAnInfiniteValueOutOfTheNeighbouringRows() {
        for (int[] s : new int[][] {{8, 9}, {10, 14}, {12, 28}}) {
            check5(s[0], s[1], Activation.RELU6, 0);
            check5(s[0], s[1], Activation.NONE, s[1] - 1);
        }
    }

    @Test
    void fiveByFiveStrideTwoMatchesTheReferenceOnEveryEvenPlaneSize() {
        int[][] sizes = {{2, 2}, {2, 4}, {4, 2}, {2, 12}, {6, 14}, {2, 32}, {2, 34}, {10, 64}, {64, 10}, {18, 34},
            {28, 28}, {56, 56}};
        for (int[] s : sizes) {
            for (boolean phases : new boolean[] {false, true}) {
                check5Stride2(s[0], s[1], Activation.RELU6, phases, false);
                check5Stride2(s[0], s[1], Activation.SILU, phases, false);
                check5Stride2(s[0], s[1], Activation.HARDSWISH, phases, false);
            }
        }
    }

    /** As {@link #phaseOrderKeepsAnInfiniteValueOutOfTheFirstRow}, at 5×5 (column 0 of a row holds +Inf). */
    @Test
    void fiveByFiveStrideTwoKeepsAnInfiniteValueOutOfTheNeighbouringRows() {
        for (int[] s : new int[][] {{12, 20}, {16, 40}}) {
            for (boolean phases : new boolean[] {false, true}) {
                check5Stride2(s[0], s[1], Activation.RELU6, phases, true);
                check5Stride2(s[0], s[1], Activation.NONE, phases, true);
            }
        }
    }

    @Test
    void strideTwoFromPhaseOrderMatchesTheReferenceOnEveryEvenPlaneSize() {
        int[][] sizes = {{2, 2}, {2, 4}, {4, 2}, {2, 12}, {6, 14}, {2, 32}, {2, 34}, {10, 64}, {64, 10}, {18, 34},
            {40, 40}, {36, 70}};
        for (int[] s : sizes) {
            checkPhases(s[0], s[1], Activation.RELU6, false);
            checkPhases(s[0], s[1], Activation.SILU, false);
        }
    }

    /**
     * The first output row's taps above it read the previous phase plane's last row (here holding +Inf, from the
     * input's last even row): they must be left out, not multiplied by zero (that would make NaN).
     */
    @Test
    void phaseOrderKeepsAnInfiniteValueOutOfTheFirstRow() {
        for (int[] s : new int[][] {{6, 14}, {8, 40}, {12, 64}}) {
            checkPhases(s[0], s[1], Activation.RELU6, true);
            checkPhases(s[0], s[1], Activation.NONE, true);
        }
    }

    @Test
    void supportsOnlyWhatItComputes() {
        assertThat(DepthwiseFlat.supports(ConvParams.square(3, 1, 1))).isTrue();
        assertThat(DepthwiseFlat.supports(ConvParams.square(3, 1, 0))).isFalse();
        assertThat(DepthwiseFlat.supports(ConvParams.square(5, 1, 2))).isFalse();
        assertThat(DepthwiseFlat.supports(new ConvParams(3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 1))).isFalse();
        assertThat(DepthwiseFlat.supportsStride2(ConvParams.square(3, 2, 1), 8, 8)).isTrue();
        assertThat(DepthwiseFlat.supportsStride2(ConvParams.square(3, 2, 1), 7, 8)).isFalse();
        assertThat(DepthwiseFlat.supportsStride2(ConvParams.square(3, 2, 1), 8, 9)).isFalse();
        assertThat(DepthwiseFlat.supportsStride2(new ConvParams(3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 1), 8, 8)).isFalse();
    }

    private static void check(int stride, int h, int w, Activation act) {
        int c = 3;
        ConvParams p = ConvParams.square(3, stride, 1).withGroups(c);
        int oh = p.outH(h), ow = p.outW(w);
        Random r = new Random(31L * h + w + stride);
        float[] x = KernelTestSupport.random(r, c * h * w);
        float[] k = KernelTestSupport.random(r, c * 9);
        float[] bias = KernelTestSupport.random(r, c);
        double[] want = ReferenceConv.conv2d(x, 1, c, h, w, k, c, bias, p, act);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), 1, c, h, w, KernelTestSupport.abs(k), c,
                KernelTestSupport.abs(bias), p, Activation.NONE);
        DepthwiseFlat.Layer layer = DepthwiseFlat.Layer.of(null, oh, ow, act);
        DepthwiseFlat.Work work = new DepthwiseFlat.Work();
        try (Tensor in = Tensor.ofFloats(Shape.of(1, c, h, w), x);
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, oh, ow))) {
            long io = in.offset(), oo = out.offset();
            for (int ch = 0; ch < c; ch++) {
                if (stride == 1) {
                    DepthwiseFlat.plane(in.segment(), io + (long) ch * h * w, h, w, out.segment(),
                            oo + (long) ch * oh * ow, k, ch * 9, bias[ch], layer, work);
                } else {
                    DepthwiseFlat.planeStride2(in.segment(), io + (long) ch * h * w, h, w, out.segment(),
                            oo + (long) ch * oh * ow, k, ch * 9, bias[ch], layer, work);
                }
            }
            float[] got = out.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                assertThat((double) got[i]).as("stride %d, %dx%d, %s, element %d", stride, h, w, act, i)
                        .isCloseTo(want[i], Offset.offset(1e-5 * bound[i] + 1e-6));
            }
        }
    }
    /**
     * Every channel split by {@link Conv2d#splitPhases} into a buffer that ends {@link DepthwiseFlat#PHASES_SLACK}
     * floats after its last plane, then {@link DepthwiseFlat#planePhases} per channel, against the reference. With
     * {@code infinity}, the input's last even row's odd columns hold +Inf, and only the output rows that do not read
     * that row (all but the last) are compared.
     */
    private static void checkPhases(int h, int w, Activation act, boolean infinity) {
        int c = 3;
        ConvParams p = ConvParams.square(3, 2, 1).withGroups(c);
        int oh = h / 2, ow = w / 2;
        Random r = new Random(17L * h + w);
        float[] x = KernelTestSupport.random(r, c * h * w);
        if (infinity) {
            for (int ch = 0; ch < c; ch++) {
                for (int col = 1; col < w; col += 2) {
                    x[(ch * h + h - 2) * w + col] = Float.POSITIVE_INFINITY;
                }
            }
        }
        float[] k = KernelTestSupport.random(r, c * 9);
        float[] bias = KernelTestSupport.random(r, c);
        double[] want = ReferenceConv.conv2d(x, 1, c, h, w, k, c, bias, p, act);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), 1, c, h, w, KernelTestSupport.abs(k), c,
                KernelTestSupport.abs(bias), p, Activation.NONE);
        DepthwiseFlat.Layer layer = DepthwiseFlat.Layer.of(null, oh, ow, act);
        DepthwiseFlat.Work work = new DepthwiseFlat.Work();
        try (Tensor in = Tensor.ofFloats(Shape.of(1, c, h, w), x);
             Tensor split = Tensor.allocate(DType.FLOAT32, Shape.of(c * h * w + DepthwiseFlat.PHASES_SLACK));
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, oh, ow))) {
            long so = split.offset();
            Conv2d.splitPhases(in.segment(), in.offset(), c, h, w, split.segment(), so);
            for (int ch = 0; ch < c; ch++) {
                DepthwiseFlat.planePhases(split.segment(), so + (long) ch * h * w, oh, ow, out.segment(),
                        out.offset() + (long) ch * oh * ow, k, ch * 9, bias[ch], layer, work);
            }
            float[] got = out.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                if (infinity && (i % (oh * ow)) / ow == oh - 1) {
                    continue;
                }
                assertThat((double) got[i]).as("phases, %dx%d, %s, element %d", h, w, act, i)
                        .isCloseTo(want[i], Offset.offset(1e-5 * bound[i] + 1e-6));
            }
        }
    }
    /**
     * {@link DepthwiseFlat#plane5} on every channel against the reference; with {@code infColumn >= 0}, that column
     * of the input's fourth row holds +Inf and only the outputs the reference gives finite are compared.
     */
    private static void check5(int h, int w, Activation act, int infColumn) {
        int c = 3;
        ConvParams p = ConvParams.square(5, 1, 2).withGroups(c);
        Random r = new Random(13L * h + w);
        float[] x = KernelTestSupport.random(r, c * h * w);
        if (infColumn >= 0) {
            for (int ch = 0; ch < c; ch++) {
                x[(ch * h + Math.min(3, h - 1)) * w + infColumn] = Float.POSITIVE_INFINITY;
            }
        }
        float[] k = KernelTestSupport.random(r, c * 25);
        float[] bias = KernelTestSupport.random(r, c);
        double[] want = ReferenceConv.conv2d(x, 1, c, h, w, k, c, bias, p, act);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), 1, c, h, w, KernelTestSupport.abs(k), c,
                KernelTestSupport.abs(bias), p, Activation.NONE);
        DepthwiseFlat.Layer layer = DepthwiseFlat.Layer.of(null, h, w, act);
        DepthwiseFlat.Work work = new DepthwiseFlat.Work();
        try (Tensor in = Tensor.ofFloats(Shape.of(1, c, h, w), x);
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, h, w))) {
            for (int ch = 0; ch < c; ch++) {
                DepthwiseFlat.plane5(in.segment(), in.offset() + (long) ch * h * w, h, w, out.segment(),
                        out.offset() + (long) ch * h * w, k, ch * 25, bias[ch], layer, work);
            }
            assertFiniteOnesMatch(out.toFloatArray(), want, bound, String.format("5x5, %dx%d, %s", h, w, act));
        }
    }
    /**
     * {@link DepthwiseFlat#plane5Stride2} (or, with {@code phases}, {@link DepthwiseFlat#planePhases5} on planes split
     * by {@link Conv2d#splitPhases}) on every channel against the reference; with {@code infinity}, the input's
     * sixth row holds +Inf in column 0 and in its last column, and only outputs the reference gives finite are
     * compared.
     */
    private static void check5Stride2(int h, int w, Activation act, boolean phases, boolean infinity) {
        int c = 3;
        ConvParams p = ConvParams.square(5, 2, 2).withGroups(c);
        int oh = h / 2, ow = w / 2;
        Random r = new Random(7L * h + w);
        float[] x = KernelTestSupport.random(r, c * h * w);
        if (infinity) {
            for (int ch = 0; ch < c; ch++) {
                x[(ch * h + Math.min(5, h - 1)) * w] = Float.POSITIVE_INFINITY;
                x[(ch * h + Math.min(5, h - 1)) * w + w - 1] = Float.POSITIVE_INFINITY;
            }
        }
        float[] k = KernelTestSupport.random(r, c * 25);
        float[] bias = KernelTestSupport.random(r, c);
        double[] want = ReferenceConv.conv2d(x, 1, c, h, w, k, c, bias, p, act);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), 1, c, h, w, KernelTestSupport.abs(k), c,
                KernelTestSupport.abs(bias), p, Activation.NONE);
        DepthwiseFlat.Layer layer = DepthwiseFlat.Layer.of(null, oh, ow, act);
        DepthwiseFlat.Work work = new DepthwiseFlat.Work();
        try (Tensor in = Tensor.ofFloats(Shape.of(1, c, h, w), x);
             Tensor split = Tensor.allocate(DType.FLOAT32, Shape.of(c * h * w));
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, oh, ow))) {
            if (phases) {
                Conv2d.splitPhases(in.segment(), in.offset(), c, h, w, split.segment(), split.offset());
            }
            for (int ch = 0; ch < c; ch++) {
                long oo = out.offset() + (long) ch * oh * ow;
                if (phases) {
                    DepthwiseFlat.planePhases5(split.segment(), split.offset() + (long) ch * h * w, oh, ow,
                            out.segment(), oo, k, ch * 25, bias[ch], layer, work);
                } else {
                    DepthwiseFlat.plane5Stride2(in.segment(), in.offset() + (long) ch * h * w, h, w, out.segment(),
                            oo, k, ch * 25, bias[ch], layer, work);
                }
            }
            assertFiniteOnesMatch(out.toFloatArray(), want, bound, String.format("5x5 stride 2%s, %dx%d, %s",
                    phases ? " (phases)" : "", h, w, act));
        }
    }
    /**
     * Every element the reference gives finite (with a finite bound) matches it within the bound's rounding; at
     * least a third of them are compared.
     */
    private static void assertFiniteOnesMatch(float[] got, double[] want, double[] bound, String what) {
        int compared = 0;
        for (int i = 0; i < got.length; i++) {
            if (!Double.isFinite(want[i]) || !Double.isFinite(bound[i])) {
                continue;
            }
            compared++;
            assertThat((double) got[i]).as("%s, element %d", what, i)
                    .isCloseTo(want[i], Offset.offset(1e-5 * bound[i] + 1e-6));
        }
        assertThat(compared).isGreaterThan(got.length / 3);
    }
}
