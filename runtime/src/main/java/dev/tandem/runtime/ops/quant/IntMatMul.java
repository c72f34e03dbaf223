package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The exact integer matrix product shared by MatMulInteger and QLinearMatMul: numpy MatMul shapes (1-D operands
 * promoted, batch dimensions broadcast), {@code acc[i][j] = Σ_k (a[i][k] − aZero[i]) · (b[k][j] − bZero[j])} in
 * int32, zero points per tensor (one value) or per row of A / per column of B.
 *
 * <p>The operands are widened to integer-valued floats and multiplied by {@link Sgemm} in slices of at most
 * {@link #K_SLICE} along k, each converted back to int: every partial sum of a slice is an integer below
 * 256 · 255² < 2²⁴, so float arithmetic is exact (see {@link Quant} for why floats and not integer lanes).
 */
final class IntMatMul {
    /** Longest k slice whose float sums are exact for 8-bit operands. */
    static final int K_SLICE = 256;

    final Shape out;
    final int m, n, k;
    private final int[] batch, batchA, batchB;

    private IntMatMul(Shape out, int m, int n, int k, int[] batch, int[] batchA, int[] batchB) {
        this.out = out;
        this.m = m;
        this.n = n;
        this.k = k;
        this.batch = batch;
        this.batchA = batchA;
        this.batchB = batchB;
    }

    static IntMatMul of(OpContext ctx, Shape sa, Shape sb) {
        if (sa.rank() == 0 || sb.rank() == 0) {
            throw ctx.fail("operands must have rank >= 1; got " + sa + " and " + sb);
        }
        int[] a = sa.rank() == 1 ? new int[] {1, sa.dim(0)} : sa.dims();
        int[] b = sb.rank() == 1 ? new int[] {sb.dim(0), 1} : sb.dims();
        int m = a[a.length - 2], k = a[a.length - 1], n = b[b.length - 1];
        if (k != b[b.length - 2]) {
            throw ctx.fail("inner dimensions differ: " + sa + " × " + sb);
        }
        int[] ba = Arrays.copyOf(a, a.length - 2), bb = Arrays.copyOf(b, b.length - 2);
        Shape batch;
        try {
            batch = Shape.broadcast(Shape.of(ba), Shape.of(bb));
        } catch (IllegalArgumentException e) {
            throw ctx.fail("batch dimensions do not broadcast: " + sa + " × " + sb);
        }
        int[] od = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        od[batch.rank()] = m;
        od[batch.rank() + 1] = n;
        int[] dims = od;
        if (sa.rank() == 1 && sb.rank() == 1) {
            dims = Arrays.copyOf(od, batch.rank());
        } else if (sa.rank() == 1) {
            dims = remove(od, batch.rank());
        } else if (sb.rank() == 1) {
            dims = remove(od, batch.rank() + 1);
        }
        return new IntMatMul(Shape.of(dims), m, n, k, batch.dims(), ba, bb);
    }

    private static int[] remove(int[] d, int i) {
        int[] r = new int[d.length - 1];
        System.arraycopy(d, 0, r, 0, i);
        System.arraycopy(d, i + 1, r, i, d.length - i - 1);
        return r;
    }

    int batches() {
        int p = 1;
        for (int d : batch) {
            p *= d;
        }
        return p;
    }

    /** Receives one batch's accumulators ({@code m × n}, row-major) with the output's element offset. */
    interface Sink {
        void accept(int[] acc, long outOffset);
    }

    Scratch scratch() {
        return new Scratch(4L * ((long) m * k + (long) k * n + (long) m * n));
    }

    void run(Sgemm gemm, Scratch scratch, Tensor a, boolean aUnsigned, int[] aZero, Tensor b, boolean bUnsigned,
             int[] bZero, Sink sink) {
        Tensor ac = a.contiguous(), bc = b.contiguous();
        MemorySegment buf = scratch.take();
        try {
            long fa = 0, fb = (long) m * k, fc = fb + (long) k * n;
            int[] acc = new int[m * n];
            int nb = batches();
            int[] idx = new int[batch.length];
            for (int bi = 0; bi < nb; bi++) {
                long oa = ac.offset() + offset(idx, batchA) * m * k;
                long ob = bc.offset() + offset(idx, batchB) * k * n;
                for (int i = 0; i < m; i++) {
                    Quant.dequantize(ac.segment(), oa + (long) i * k, aUnsigned, aZero[aZero.length == 1 ? 0 : i], 1f,
                            buf, fa + (long) i * k, k);
                }
                if (bZero.length == 1) {
                    Quant.dequantize(bc.segment(), ob, bUnsigned, bZero[0], 1f, buf, fb, (long) k * n);
                } else {
                    for (int r = 0; r < k; r++) {
                        for (int j = 0; j < n; j++) {
                            int q = bc.segment().get(ValueLayout.JAVA_BYTE, ob + (long) r * n + j);
                            buf.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, fb + (long) r * n + j,
                                    (bUnsigned ? q & 0xFF : q) - bZero[j]);
                        }
                    }
                }
                Arrays.fill(acc, 0);
                for (int p = 0; p < k; p += K_SLICE) {
                    int kl = Math.min(K_SLICE, k - p);
                    gemm.gemm(false, false, m, n, kl, 1f, buf, fa + p, k, buf, fb + (long) p * n, n, 0f, buf, fc, n);
                    for (int i = 0; i < m * n; i++) {
                        acc[i] += (int) buf.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, fc + i);
                    }
                }
                sink.accept(acc, (long) bi * m * n);
                for (int d = batch.length - 1; d >= 0; d--) {
                    if (++idx[d] < batch[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        } finally {
            scratch.give(buf);
            if (ac != a) {
                ac.close();
            }
            if (bc != b) {
                bc.close();
            }
        }
    }

    /** The flat batch index of an operand with batch dims {@code own} (right-aligned, broadcast) at {@code idx}. */
    private long offset(int[] idx, int[] own) {
        long o = 0;
        int shift = batch.length - own.length;
        for (int d = 0; d < own.length; d++) {
            o = o * own[d] + (own[d] == 1 ? 0 : idx[d + shift]);
        }
        return o;
    }
}
