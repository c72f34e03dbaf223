package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where the convolution kernels meet 8-bit data ({@link Int8Format}): runs of input read as floats, runs of results
 * written as 8-bit values, and the GEMM operand packer and result writer for 8-bit matrices. Float32 data (format
 * null) goes through the same calls as plain copies, so a kernel has one code path for both.
 */
final class Int8Io {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Int8Io() {
    }

    /** {@code count} elements from element {@code off} of {@code in} (float32, or 8-bit as {@code f} says). */
    static void read(MemorySegment in, long off, Int8Format f, float[] dst, int dstOff, int count) {
        if (f == null) {
            MemorySegment.copy(in, FL, off * 4, dst, dstOff, count);
        } else {
            Quant.toFloats(in, off, f, dst, dstOff, count);
        }
    }

    /**
     * {@code src[srcOff ..+count)}, channel {@code c}'s values, to element {@code off} of {@code out}: requantized as
     * 8-bit values when {@code q} is not null, else as floats (the caller applied bias and activation).
     */
    static void write(float[] src, int srcOff, Requantization q, int c, MemorySegment out, long off, int count) {
        if (q != null) {
            q.write(src, srcOff, c, out, off, count);
        } else {
            MemorySegment.copy(src, srcOff, out, FL, off * 4, count);
        }
    }

    /** GEMM B operand: a row-major 8-bit matrix (k rows of {@code ld} elements), read as floats while packing. */
    static final class Rows implements Sgemm.BPacker {
        private final MemorySegment seg;
        private final long off;
        private final int ld;
        private final Int8Format f;

        Rows(MemorySegment seg, long off, int ld, Int8Format f) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.f = f;
        }

        @Override
        public void pack(int p0, int kc, int j0, int nc, float[] dst, int dstOff) {
            int nr = Sgemm.NR;
            for (int q = 0; q * nr < nc; q++) {
                int base = dstOff + q * nr * kc;
                int cols = Math.min(nr, nc - q * nr);
                long src = off + (long) p0 * ld + j0 + (long) q * nr;
                for (int k = 0; k < kc; k++, src += ld) {
                    int d = base + k * nr;
                    Quant.toFloats(seg, src, f, dst, d, cols);
                    if (cols < nr) {
                        java.util.Arrays.fill(dst, d + cols, d + nr, 0f);
                    }
                }
            }
        }
    }

    /** GEMM result: a row-major 8-bit matrix whose row i is output channel {@code channel0 + i}, requantized. */
    static final class Matrix implements Sgemm.CWriter {
        private final MemorySegment seg;
        private final long off;
        private final int ld;
        private final Requantization q;
        private final int channel0;

        Matrix(MemorySegment seg, long off, int ld, Requantization q, int channel0) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.q = q;
            this.channel0 = channel0;
        }

        @Override
        public void write(float[] tile, int row, int mr, int col, int nr, float alpha, float beta, float[] bias,
                          Activation act) {
            checkPlain(alpha, beta);
            for (int r = 0; r < mr; r++) {
                q.write(tile, r * Sgemm.NR, channel0 + row + r, seg, off + (long) (row + r) * ld + col, nr);
            }
        }

        @Override
        public void scaleOnly(int m, int n, float beta, float[] bias, Activation act) {
            throw new IllegalStateException("a convolution always has a non-empty product");
        }
    }

    /** 8-bit results are written once, from the whole product: no accumulation into them, no scaling. */
    static void checkPlain(float alpha, float beta) {
        if (alpha != 1f || beta != 0f) {
            throw new IllegalStateException("8-bit output takes the whole product once (alpha 1, beta 0); got alpha "
                    + alpha + ", beta " + beta + " (a reduction split into depth blocks?)");
        }
    }
}
