package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.reference.ReferenceConvGrad;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The float32 convolution gradients (both dX paths, dW with and without im2col) against the float64 reference. */
@Tag("simd")
class ConvBackwardTest {
    private static ThreadPool pool;
    private static Sgemm gemm;
    private final Random rnd = new Random(3);

    @BeforeAll
    static void open() {
        pool = new ThreadPool(3);
        gemm = new Sgemm(pool);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextFloat() * 2 - 1;
        }
        return v;
    }

    private static double[] absDoubles(float[] f) {
        double[] d = doubles(f);
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.abs(d[i]);
        }
        return d;
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private void check(int n, int c, int h, int w, int m, ConvParams p) {
        int cg = c / p.groups();
        int oh = p.outH(h), ow = p.outW(w);
        float[] x = random(n * c * h * w), wt = random(m * cg * p.kernelH() * p.kernelW()), dy = random(n * m * oh * ow);
        double[] dxRef = ReferenceConvGrad.input(doubles(dy), doubles(wt), n, c, h, w, m, p);
        double[] dwRef = ReferenceConvGrad.weight(doubles(dy), doubles(x), n, c, h, w, m, p);
        // Σ|dy|·|x| per weight: the scale of the rounding error, which the result's own size (after cancellation)
        // can understate (Winograd F(4×4)'s transforms multiply by up to 8 and divide by 24)
        double[] dwBound = ReferenceConvGrad.weight(absDoubles(dy), absDoubles(x), n, c, h, w, m, p);
        try (Tensor xt = Tensor.ofFloats(Shape.of(n, c, h, w), x);
             Tensor wtt = Tensor.ofFloats(Shape.of(m, cg, p.kernelH(), p.kernelW()), wt);
             Tensor dyt = Tensor.ofFloats(Shape.of(n, m, oh, ow), dy);
             Tensor dx = Tensor.allocate(dev.tandem.runtime.tensor.DType.FLOAT32, xt.shape());
             Tensor dw = Tensor.allocate(dev.tandem.runtime.tensor.DType.FLOAT32, wtt.shape())) {
            ConvBackward.input(gemm, p, dyt, wtt, dx);
            ConvBackward.weight(gemm, p, dyt, xt, dw);
            float[] dxv = dx.toFloatArray(), dwv = dw.toFloatArray();
            for (int i = 0; i < dxv.length; i++) {
                assertThat((double) dxv[i]).as("%s dX[%d]", p, i).isCloseTo(dxRef[i], org.assertj.core.data.Offset.offset(
                        1e-4 * (1 + Math.abs(dxRef[i]))));
            }
            for (int i = 0; i < dwv.length; i++) {
                assertThat((double) dwv[i]).as("%s dW[%d]", p, i).isCloseTo(dwRef[i], org.assertj.core.data.Offset.offset(
                        1e-4 * (1 + Math.abs(dwRef[i])) + 1e-6 * dwBound[i]));
            }
        }
    }

    @Test
    void unitStrideUsesTheFlippedConvolution() {
        check(3, 5, 9, 7, 6, ConvParams.square(3, 1, 1));
        check(2, 32, 14, 14, 17, ConvParams.square(3, 1, 1));
        check(2, 4, 8, 9, 4, new ConvParams(3, 3, 1, 1, 2, 1, 0, 2, 2, 1, 1));
        check(2, 6, 7, 7, 6, ConvParams.square(3, 1, 1).withGroups(6));
        check(2, 6, 7, 7, 9, ConvParams.square(3, 1, 1).withGroups(3));
        check(2, 8, 5, 6, 12, ConvParams.square(1, 1, 0));
    }

    @Test
    void unitStrideWeightGradientsUseShiftedDotProducts() {
        // odd channel counts (not multiples of the 4×5 micro-kernel), several image groups with a partial last one,
        // asymmetric and zero padding, non-square kernels, FashionNet's shapes
        check(7, 3, 5, 6, 5, ConvParams.square(3, 1, 1));
        check(5, 2, 4, 3, 9, new ConvParams(3, 3, 1, 1, 2, 1, 0, 2, 1, 1, 1));
        check(3, 3, 6, 7, 4, new ConvParams(3, 2, 1, 1, 0, 1, 2, 0, 1, 1, 1));
        check(9, 5, 11, 13, 6, ConvParams.square(5, 1, 2));
        check(4, 7, 6, 6, 3, ConvParams.square(3, 1, 0));
        check(3, 1, 28, 28, 32, ConvParams.square(3, 1, 1));
        check(5, 32, 14, 14, 64, ConvParams.square(3, 1, 1));
        check(2, 16, 9, 9, 8, ConvParams.square(1, 1, 0));
        // 28×28: two images a group, so each thread runs several groups (full, then a partial one)
        check(8, 2, 28, 28, 3, ConvParams.square(3, 1, 1));
        check(11, 2, 28, 28, 3, ConvParams.square(3, 1, 1));
    }

    @Test
    void threeByThreeWeightGradientsOfWideLayersUseWinograd() {
        // 32 or more channels, 3×3, pad 1: WinogradGrad (F(2×2, 3×3)); odd sizes leave half-empty tiles, many
        // images make several groups per thread, and 32, 48 and 64 output channels end on the 8-, 12- and 4-row
        // register tiles
        ConvParams p = ConvParams.square(3, 1, 1);
        org.junit.jupiter.api.Assumptions.assumeTrue(WinogradGrad.applies(p, 32, 32, 28, 28), "Winograd gradient off");
        check(3, 32, 28, 28, 32, p);
        check(2, 64, 13, 11, 48, p);
        check(40, 32, 7, 7, 64, p);
        check(1, 32, 1, 1, 32, p);
    }

    @Test
    void winogradWeightGradientsAgreeWithTheReferenceForBothTileSizes() {
        // F(2×2) and F(4×4) explicitly, whatever the default: sizes that leave partial tiles of both, one image and
        // many (several groups per thread), 32/48/64 output channels (every register-tile height)
        ConvParams p = ConvParams.square(3, 1, 1);
        for (int tile : new int[] {2, 4}) {
            checkWinograd(tile, 3, 32, 28, 28, 32);
            checkWinograd(tile, 2, 64, 13, 11, 48);
            checkWinograd(tile, 40, 32, 7, 7, 64);
            checkWinograd(tile, 1, 32, 1, 1, 32);
            checkWinograd(tile, 5, 32, 14, 14, 64);
        }
    }

    @Test
    void winogradWeightGradientTakesFourByFourTilesWhereTheyCoverNoMorePadding() {
        org.junit.jupiter.api.Assumptions.assumeTrue(WinogradGrad.FORCED_TILE == 0, "tile forced by a property");
        assertThat(WinogradGrad.tile(28, 28)).isEqualTo(4);
        assertThat(WinogradGrad.tile(56, 56)).isEqualTo(4);
        assertThat(WinogradGrad.tile(7, 7)).isEqualTo(4);
        assertThat(WinogradGrad.tile(14, 14)).isEqualTo(2);
        assertThat(WinogradGrad.tile(28, 14)).isEqualTo(2);
        assertThat(WinogradGrad.tile(1, 1)).isEqualTo(2);
    }

    private void checkWinograd(int tile, int n, int c, int h, int w, int m) {
        ConvParams p = ConvParams.square(3, 1, 1);
        float[] x = random(n * c * h * w), dy = random(n * m * h * w);
        double[] dwRef = ReferenceConvGrad.weight(doubles(dy), doubles(x), n, c, h, w, m, p);
        double[] dwBound = ReferenceConvGrad.weight(absDoubles(dy), absDoubles(x), n, c, h, w, m, p);
        try (Tensor xt = Tensor.ofFloats(Shape.of(n, c, h, w), x);
             Tensor dyt = Tensor.ofFloats(Shape.of(n, m, h, w), dy);
             Tensor dw = Tensor.allocate(dev.tandem.runtime.tensor.DType.FLOAT32, Shape.of(m, c, 3, 3))) {
            WinogradGrad.weight(gemm.pool(), dyt, xt, dw, tile);
            float[] dwv = dw.toFloatArray();
            for (int i = 0; i < dwv.length; i++) {
                assertThat((double) dwv[i]).as("F(%dx%d) n=%d c=%d %dx%d m=%d dW[%d]", tile, tile, n, c, h, w, m, i)
                        .isCloseTo(dwRef[i], org.assertj.core.data.Offset.offset(
                                1e-4 * (1 + Math.abs(dwRef[i])) + 1e-6 * dwBound[i]));
            }
        }
    }

    @Test
    void stridedAndWidePaddingUseCol2im() {
        check(3, 5, 9, 8, 6, ConvParams.square(3, 2, 1));
        check(2, 6, 11, 10, 6, ConvParams.square(3, 2, 1).withGroups(6));
        check(2, 4, 9, 9, 8, ConvParams.square(1, 2, 0));
        check(1, 3, 6, 6, 2, ConvParams.square(3, 1, 3));
        check(2, 3, 10, 12, 4, new ConvParams(5, 3, 3, 2, 2, 1, 1, 0, 1, 2, 1));
    }
}
