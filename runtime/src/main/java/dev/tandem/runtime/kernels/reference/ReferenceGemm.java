package dev.tandem.runtime.kernels.reference;

/**
 * The slow, obvious GEMM every fast one is checked against: row-major, accumulation in double.
 * {@code C = alpha · op(A) · op(B) + beta · C}; with {@code beta == 0} C is not read. The double-in form is also the
 * float64 Gemm kernel of the ops.
 */
public final class ReferenceGemm {
    private ReferenceGemm() {
    }

    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                            float[] a, int lda, float[] b, int ldb, double beta, double[] c, int ldc) {
        gemm(transA, transB, m, n, k, alpha, Widen.of(a), 0, lda, Widen.of(b), 0, ldb, beta, c, 0, ldc);
    }

    /** The same with element offsets into each array. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a, int aOff,
                            int lda, double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    double y = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    acc += x * y;
                }
                double old = beta == 0 ? 0 : beta * c[cOff + i * ldc + j];
                c[cOff + i * ldc + j] = alpha * acc + old;
            }
        }
    }
}
