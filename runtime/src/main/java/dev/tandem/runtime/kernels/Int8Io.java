package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where the convolution kernels meet 8-bit data ({@link Int8Format}, {@link Requantization}): runs of input read as
 * floats, runs of results written as 8-bit values. Float32 data (format null) goes through the same calls as plain
 * copies, so a kernel has one code path for both. (The GEMM's matrix operands take a format themselves:
 * {@link Sgemm.MatrixB}, {@link Sgemm.MatrixC}.)
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

    /** 8-bit results are written once, from the whole product: no accumulation into them, no scaling. */
    static void checkPlain(float alpha, float beta) {
        if (alpha != 1f || beta != 0f) {
            throw new IllegalStateException("8-bit output takes the whole product once (alpha 1, beta 0); got alpha "
                    + alpha + ", beta " + beta + " (a reduction split into depth blocks?)");
        }
    }
}
