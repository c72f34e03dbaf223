package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.tensor.Shape;

/**
 * The slow, obvious batched matrix product with numpy's batch broadcasting, in double: operands of rank >= 2,
 * {@code a [...batchA, m, k]} and {@code b [...batchB, k, n]} row-major; the result is
 * {@code [broadcast(batchA, batchB)..., m, n]} row-major, one {@link ReferenceGemm} per batch. (1-D operands are
 * the caller's business: numpy promotes them to {@code [1, k]} and {@code [k, 1]}.) Also the float64 MatMul
 * kernel of the ops.
 */
public final class ReferenceMatMul {
    private ReferenceMatMul() {
    }

    public static double[] matmul(double[] a, int[] aDims, double[] b, int[] bDims) {
        int ra = aDims.length, rb = bDims.length;
        if (ra < 2 || rb < 2 || aDims[ra - 1] != bDims[rb - 2]) {
            throw new IllegalArgumentException("MatMul of " + Shape.of(aDims) + " and " + Shape.of(bDims));
        }
        int m = aDims[ra - 2], k = aDims[ra - 1], n = bDims[rb - 1];
        Shape batchA = Shape.of(java.util.Arrays.copyOf(aDims, ra - 2));
        Shape batchB = Shape.of(java.util.Arrays.copyOf(bDims, rb - 2));
        Shape batch = Shape.broadcast(batchA, batchB);
        int br = batch.rank();
        int batches = Math.toIntExact(batch.size());
        double[] c = new double[Math.multiplyExact(batches, m * n)];
        int[] idx = new int[br];
        for (int bi = 0; bi < batches; bi++) {
            int ia = flatIndex(idx, batchA), ib = flatIndex(idx, batchB);
            ReferenceGemm.gemm(false, false, m, n, k, 1, a, ia * m * k, k, b, ib * k * n, n, 0, c, bi * m * n, n);
            for (int d = br - 1; d >= 0; d--) {
                if (++idx[d] < batch.dim(d)) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return c;
    }

    /** Row-major index in a batch of shape {@code s} of the batch broadcast to output batch index {@code idx}. */
    private static int flatIndex(int[] idx, Shape s) {
        int lead = idx.length - s.rank(), at = 0;
        for (int i = 0; i < s.rank(); i++) {
            int d = s.dim(i);
            at = at * d + (d == 1 ? 0 : idx[i + lead]);
        }
        return at;
    }
}
