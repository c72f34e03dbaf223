package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class WinogradTest extends PooledKernelTest {
    /** Both tile sizes, F(2×2, 3×3) and F(4×4, 3×3). */
    private static void check(Random r, int n, int c, int k, int h, int w, int pt, int pl, int pb, int pr,
                              boolean bias, boolean residual, Activation act) {
        check(pool, r, n, c, k, h, w, pt, pl, pb, pr, bias, residual, act);
    }

    private static void check(dev.tandem.runtime.exec.ThreadPool pool, Random r, int n, int c, int k, int h, int w,
                              int pt, int pl, int pb, int pr, boolean bias, boolean residual, Activation act) {
        long seed = r.nextLong();
        for (int tile : new int[] {2, 4}) {
            check(pool, new Random(seed), tile, n, c, k, h, w, pt, pl, pb, pr, bias, residual, act);
        }
    }

    private static void check(dev.tandem.runtime.exec.ThreadPool pool, Random r, int tile, int n, int c, int k, int h,
                              int w, int pt, int pl, int pb, int pr, boolean bias, boolean residual, Activation act) {
        ConvParams p = new ConvParams(3, 3, 1, 1, pt, pl, pb, pr, 1, 1, 1);
        float[] x = KernelTestSupport.uniform(r, n * c * h * w, -1, 1);
        float[] wt = KernelTestSupport.uniform(r, k * c * 9, -1, 1);
        float[] b = bias ? KernelTestSupport.uniform(r, k, -1, 1) : null;
        int oh = p.outH(h), ow = p.outW(w);
        float[] z = residual ? KernelTestSupport.uniform(r, n * k * oh * ow, -1, 1) : null;
        double[] expect = ReferenceConv.conv2d(x, n, c, h, w, wt, k, b, p, Activation.NONE);
        for (int i = 0; i < expect.length; i++) {
            expect[i] = act.apply((float) (expect[i] + (z == null ? 0 : z[i])));
        }
        try (Tensor wten = Tensor.ofFloats(Shape.of(k, c, 3, 3), wt)) {
            Winograd3x3 conv = Winograd3x3.prepare(p, c, wten, b, act, tile);
            float[] out = new float[expect.length];
            conv.forward(pool, MemorySegment.ofArray(x), 0, n, h, w, MemorySegment.ofArray(out), 0,
                    z == null ? null : MemorySegment.ofArray(z), 0);
            // Transforms add up to 4·4 (F(4×4): 6·6, with factors up to 8) terms of each product: allow a few
            // times direct convolution's error.
            double scale = tile == 2 ? 1e-4 : 4e-4;
            assertClose("winograd F(" + tile + "x" + tile + ") n" + n + " c" + c + " k" + k + " " + h + "x" + w, out,
                    expect, scale * Math.sqrt(c * 9), scale);
        }
    }

    @Test
    void matchesDirectConvolutionOnOddAndEvenSizes() {
        Random r = new Random(3);
        int[][] cases = {{1, 1, 1, 1, 1}, {1, 3, 5, 7, 9}, {2, 4, 8, 8, 8}, {1, 17, 19, 13, 11}, {1, 64, 64, 14, 14},
            {3, 5, 2, 2, 3}, {1, 8, 16, 56, 56}, {1, 32, 33, 7, 7}};
        for (int[] cs : cases) {
            check(r, cs[0], cs[1], cs[2], cs[3], cs[4], 1, 1, 1, 1, true, false, Activation.NONE);
        }
    }

    @Test
    void blocksAcrossRowsAndImagesOutputChannelSplitsAndShortPanels() {
        Random r = new Random(5);
        // 3 images of 9×11 (5×6 tiles): blocks of tiles start mid-row and run into the next image
        check(r, 3, 9, 70, 9, 11, 1, 1, 1, 1, true, true, Activation.RELU);
        // one block (fewer tiles than a panel): split by output-channel panels over the pool; 7- and 4-row tails
        check(r, 1, 20, 31, 6, 6, 1, 1, 1, 1, true, false, Activation.NONE);
        check(r, 1, 20, 64, 6, 7, 1, 1, 1, 1, true, true, Activation.clip(-0.5f, 0.5f));
        // the same on one thread (no split)
        check(single, r, 2, 20, 64, 13, 6, 1, 1, 1, 1, false, false, Activation.RELU);
        // rows whose length is a whole number of vectors and more (the whole-vector stores past a run's end)
        check(r, 1, 5, 13, 66, 34, 1, 1, 1, 1, true, false, Activation.RELU);
    }

    @Test
    void unevenPaddingBiasResidualAndActivations() {
        Random r = new Random(4);
        check(r, 1, 6, 5, 9, 10, 0, 0, 0, 0, false, false, Activation.RELU);
        check(r, 2, 6, 5, 9, 10, 2, 1, 0, 2, true, true, Activation.RELU);
        check(r, 1, 7, 3, 5, 5, 1, 1, 1, 1, true, true, Activation.RELU6);
        check(r, 1, 7, 3, 6, 4, 1, 0, 1, 0, true, false, Activation.SILU);
        check(r, 1, 7, 3, 6, 4, 1, 1, 1, 1, false, true, Activation.HARDSWISH);
    }

    @Test
    void refusesWhatItDoesNotCompute() {
        assertThat(Winograd3x3.supports(ConvParams.square(3, 2, 1))).isFalse();
        assertThat(Winograd3x3.supports(ConvParams.square(1, 1, 0))).isFalse();
        assertThat(Winograd3x3.supports(ConvParams.square(3, 1, 1).withGroups(2))).isFalse();
        assertThat(Winograd3x3.supports(ConvParams.square(3, 1, 1))).isTrue();
    }
}
