package dev.tandem.runtime.kernels.reference;

/**
 * The slow, obvious GEMM every fast one is checked against: row-major, accumulation in double.
 * {@code C = alpha · op(A) · op(B) + beta · C}; with {@code beta == 0} C is not read.
 */
public final class ReferenceGemm {
    private ReferenceGemm() {
    }

    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            float[] a, int lda, float[] b, int ldb, double beta, double[] c, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? a[p * lda + i] : a[i * lda + p];
                    double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                    acc += x * y;
                }
                double old = beta == 0 ? 0 : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * acc + old;
            }
        }
    }
}
