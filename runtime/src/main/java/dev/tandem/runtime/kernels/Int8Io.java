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

    /**
     * How results are written as 8-bit values: {@code saturate(rint(clamp(v, lo, hi)) + zero)}, with
     * {@code [lo, hi]} the format's range (relative to the zero point) within the kernel's clamp activation.
     */
    record Out(int zero, float lo, float hi) {
        static Out of(Int8Format f, Activation act) {
            if (f == null) {
                return null;
            }
            if (!act.isClamp()) {
                throw new IllegalArgumentException("8-bit output needs a clamp activation (none, ReLU, Clip); got "
                        + act.kind());
            }
            float lo = Math.max(f.low(), act.clampLow()), hi = Math.min(f.high(), act.clampHigh());
            if (!(lo <= hi)) {
                lo = hi = Math.min(Math.max(act.clampLow(), f.low()), f.high());
            }
            return new Out(f.zero(), lo, hi);
        }
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
     * {@code src[srcOff ..+count) + add} to element {@code off} of {@code out}: as 8-bit values when {@code o} is
     * not null, else as floats (the caller applied any activation).
     */
    static void write(float[] src, int srcOff, float add, Out o, MemorySegment out, long off, int count) {
        if (o != null) {
            Quant.fromFloats(src, srcOff, add, o.lo, o.hi, o.zero, out, off, count);
            return;
        }
        if (add != 0f) {
            for (int i = srcOff; i < srcOff + count; i++) {
                src[i] += add;
            }
        }
        MemorySegment.copy(src, srcOff, out, FL, off * 4, count);
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

    /** GEMM result: a row-major 8-bit matrix, each tile written with its row's bias, clamped and rounded. */
    static final class Matrix implements Sgemm.CWriter {
        private final MemorySegment seg;
        private final long off;
        private final int ld;
        private final Out o;

        Matrix(MemorySegment seg, long off, int ld, Out o) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.o = o;
        }

        @Override
        public void write(float[] tile, int row, int mr, int col, int nr, float alpha, float beta, float[] bias,
                          Activation act) {
            checkPlain(alpha, beta);
            for (int r = 0; r < mr; r++) {
                Quant.fromFloats(tile, r * Sgemm.NR, bias == null ? 0f : bias[row + r], o.lo, o.hi, o.zero, seg,
                        off + (long) (row + r) * ld + col, nr);
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
