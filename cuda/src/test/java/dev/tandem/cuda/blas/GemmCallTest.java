package dev.tandem.cuda.blas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.check.KernelReference;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major mapping of {@link CublasHandle#gemm}, checked by executing the cuBLAS call it
 * produces with a column-major SGEMM written from the BLAS definition (what cuBLAS computes), on every transpose
 * combination and odd sizes.
 */
class GemmCallTest {
    /** BLAS sgemm, column-major: C[m×n] = op(A)·op(B), A of lda, B of ldb, C of ldc. */
    static float[] columnMajorSgemm(int transa, int transb, int m, int n, int k, float[] a, int lda, float[] b, int ldb,
                                    int ldc) {
        float[] c = new float[ldc * n];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = transa == Cublas.OP_N ? a[i + p * lda] : a[p + i * lda];
                    double bv = transb == Cublas.OP_N ? b[p + j * ldb] : b[j + p * ldb];
                    s += av * bv;
                }
                c[i + j * ldc] = (float) s;
            }
        }
        return c;
    }

    @Test
    void theCublasCallComputesTheRowMajorProduct() {
        SplittableRandom r = new SplittableRandom(7);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 4, 9}, {6, 13, 2}};
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                float[] a = new float[m * k], b = new float[k * n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) r.nextDouble(-1, 1);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) r.nextDouble(-1, 1);
                }
                GemmCall g = GemmCall.rowMajor(ta, tb, m, n, k);
                // CublasHandle passes B as cuBLAS's first operand and A as its second.
                float[] c = columnMajorSgemm(g.transa(), g.transb(), g.m(), g.n(), g.k(), b, g.lda(), a, g.ldb(),
                        g.ldc());
                double[] want = KernelReference.gemm(ta, tb, m, n, k, a, b);
                for (int i = 0; i < want.length; i++) {
                    assertThat((double) c[i]).as("%dx%dx%d ta=%s tb=%s [%d]", m, n, k, ta, tb, i)
                            .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void sizesMustBePositive() {
        assertThatThrownBy(() -> GemmCall.rowMajor(false, false, 0, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("GEMM sizes must be positive; got M=0 N=1 K=1");
        assertThat(GemmCall.rowMajor(false, false, 2, 3, 4)).isEqualTo(new GemmCall(Cublas.OP_N, Cublas.OP_N, 3, 2, 4,
                3, 4, 3));
    }
}
