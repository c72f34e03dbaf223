package dev.tandem.cuda.blas;

/**
 * A row-major product {@code C[M×N] = alpha · op(A) · op(B) + beta · C} expressed as the column-major cuBLAS call
 * that computes it. A row-major matrix is its transpose in column-major order, so {@code C = A·B} is computed as
 * {@code Cᵀ = Bᵀ·Aᵀ}: cuBLAS's first operand is B, its second A, m = N and n = M. Pure arithmetic, tested on the
 * CPU against a column-major reference of what cuBLAS computes.
 *
 * @param transa cuBLAS {@code transa} (applies to the first operand, Tandem's B)
 * @param transb cuBLAS {@code transb} (applies to the second operand, Tandem's A)
 * @param m cuBLAS m (= N)
 * @param n cuBLAS n (= M)
 * @param k the inner dimension
 * @param lda leading dimension of cuBLAS's first operand (Tandem's B as stored)
 * @param ldb leading dimension of cuBLAS's second operand (Tandem's A as stored)
 * @param ldc leading dimension of C (= N)
 */
public record GemmCall(int transa, int transb, int m, int n, int k, int lda, int ldb, int ldc) {
    /**
     * The call for row-major {@code C[M×N] = op(A) · op(B)} with A stored as {@code transA ? K×M : M×K} and B as
     * {@code transB ? N×K : K×N}, all densely packed.
     */
    public static GemmCall rowMajor(boolean transA, boolean transB, int bigM, int bigN, int bigK) {
        if (bigM < 1 || bigN < 1 || bigK < 1) {
            throw new IllegalArgumentException("GEMM sizes must be positive; got M=" + bigM + " N=" + bigN + " K="
                    + bigK);
        }
        int ldB = transB ? bigK : bigN;
        int ldA = transA ? bigM : bigK;
        return new GemmCall(transB ? Cublas.OP_T : Cublas.OP_N, transA ? Cublas.OP_T : Cublas.OP_N, bigN, bigM, bigK,
                ldB, ldA, bigN);
    }
}
