package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Dtype-generic (byte-size based) copy of a strided view into a contiguous destination: the engine behind
 * Transpose, Slice (any step sign), Expand and Tile. The source is described by an element offset and one signed
 * stride (in elements) per output axis; a stride may be 0 (broadcast) or negative (reversed slice).
 *
 * <p>Runs whose innermost source stride is 1 are copied with bulk copies; otherwise element by element with a
 * 2-D tiling (cache blocking) when some other axis has source stride 1, as a transpose needs.
 */
final class StridedCopy {
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int TILE = 32;

    private StridedCopy() {
    }

    /**
     * Copies into contiguous {@code dst} (whose shape is {@code dims}) the elements
     * {@code src[srcOffset + Σ idx[a]·strides[a]]}.
     */
    static void copy(Tensor src, long srcOffset, long[] strides, int[] dims, Tensor dst) {
        long total = 1;
        for (int d : dims) {
            total *= d;
        }
        if (total == 0) {
            return;
        }
        // Drop size-1 axes and merge axes that are contiguous in the source.
        int r = 0;
        int[] cd = new int[dims.length];
        long[] cs = new long[dims.length];
        for (int a = 0; a < dims.length; a++) {
            if (dims[a] == 1) {
                continue;
            }
            if (r > 0 && cs[r - 1] == strides[a] * dims[a]) {
                cd[r - 1] *= dims[a];
                cs[r - 1] = strides[a];
            } else {
                cd[r] = dims[a];
                cs[r] = strides[a];
                r++;
            }
        }
        if (r == 0) {
            cd = new int[] {1};
            cs = new long[] {1};
            r = 1;
        }
        int[] d = java.util.Arrays.copyOf(cd, r);
        long[] s = java.util.Arrays.copyOf(cs, r);
        int bs = src.dtype().byteSize();
        MemorySegment from = src.segment();
        MemorySegment to = dst.segment();
        long dstByte = dst.offset() * (long) bs;
        long srcBase = src.offset() + srcOffset;
        int inner = d[r - 1];
        long innerStride = s[r - 1];
        // Tiled transpose path: innermost source stride is not 1 but another axis has stride 1.
        int unit = -1;
        if (innerStride != 1 && r >= 2) {
            for (int a = r - 2; a >= 0; a--) {
                if (s[a] == 1) {
                    unit = a;
                    break;
                }
            }
        }
        if (unit >= 0 && (bs == 4 || bs == 8 || bs == 1 || bs == 2)) {
            tiled(from, srcBase, s, d, unit, bs, to, dst.offset());
            return;
        }
        long outer = total / inner;
        int[] idx = new int[r];
        long dpos = dstByte;
        for (long o = 0; o < outer; o++) {
            long sElem = srcBase;
            for (int a = 0; a < r - 1; a++) {
                sElem += idx[a] * s[a];
            }
            if (innerStride == 1) {
                MemorySegment.copy(from, sElem * bs, to, dpos, (long) inner * bs);
            } else if (innerStride == 0) {
                fill(from, sElem * bs, to, dpos, inner, bs);
            } else {
                strided(from, sElem, innerStride, to, dpos, inner, bs);
            }
            dpos += (long) inner * bs;
            for (int a = r - 2; a >= 0; a--) {
                if (++idx[a] < d[a]) {
                    break;
                }
                idx[a] = 0;
            }
        }
    }

    private static void fill(MemorySegment from, long srcByte, MemorySegment to, long dstByte, int n, int bs) {
        switch (bs) {
            case 1 -> to.asSlice(dstByte, n).fill(from.get(B, srcByte));
            case 4 -> {
                int v = from.get(I, srcByte);
                for (int i = 0; i < n; i++) {
                    to.set(I, dstByte + 4L * i, v);
                }
            }
            case 8 -> {
                long v = from.get(L, srcByte);
                for (int i = 0; i < n; i++) {
                    to.set(L, dstByte + 8L * i, v);
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    MemorySegment.copy(from, srcByte, to, dstByte + (long) bs * i, bs);
                }
            }
        }
    }

    private static void strided(MemorySegment from, long srcElem, long stride, MemorySegment to, long dstByte,
                                int n, int bs) {
        switch (bs) {
            case 1 -> {
                for (int i = 0; i < n; i++) {
                    to.set(B, dstByte + i, from.get(B, srcElem + i * stride));
                }
            }
            case 4 -> {
                for (int i = 0; i < n; i++) {
                    to.set(I, dstByte + 4L * i, from.get(I, 4 * (srcElem + i * stride)));
                }
            }
            case 8 -> {
                for (int i = 0; i < n; i++) {
                    to.set(L, dstByte + 8L * i, from.get(L, 8 * (srcElem + i * stride)));
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    MemorySegment.copy(from, bs * (srcElem + i * stride), to, dstByte + (long) bs * i, bs);
                }
            }
        }
    }

    /**
     * Copy where source axis {@code unit} has stride 1 and the last axis does not: walks TILE×TILE blocks of the
     * (unit, last) plane so that both reads and writes stay within a few cache lines.
     */
    private static void tiled(MemorySegment from, long srcBase, long[] s, int[] d, int unit, int bs,
                              MemorySegment to, long dstOffset) {
        int r = d.length;
        long[] dstStrides = new long[r];
        long acc = 1;
        for (int a = r - 1; a >= 0; a--) {
            dstStrides[a] = acc;
            acc *= d[a];
        }
        // Iterate over every axis except unit and last.
        int[] idx = new int[r];
        int rows = d[unit];
        int cols = d[r - 1];
        long sc = s[r - 1];
        long dr = dstStrides[unit];
        while (true) {
            long sBase = srcBase;
            long dBase = dstOffset;
            for (int a = 0; a < r; a++) {
                sBase += idx[a] * s[a];
                dBase += idx[a] * dstStrides[a];
            }
            for (int i0 = 0; i0 < rows; i0 += TILE) {
                int i1 = Math.min(rows, i0 + TILE);
                for (int j0 = 0; j0 < cols; j0 += TILE) {
                    int j1 = Math.min(cols, j0 + TILE);
                    for (int i = i0; i < i1; i++) {
                        long sp = sBase + i;
                        long dp = dBase + i * dr;
                        switch (bs) {
                            case 4 -> {
                                for (int j = j0; j < j1; j++) {
                                    to.set(I, 4 * (dp + j), from.get(I, 4 * (sp + j * sc)));
                                }
                            }
                            case 8 -> {
                                for (int j = j0; j < j1; j++) {
                                    to.set(L, 8 * (dp + j), from.get(L, 8 * (sp + j * sc)));
                                }
                            }
                            case 2 -> {
                                for (int j = j0; j < j1; j++) {
                                    to.set(S, 2 * (dp + j), from.get(S, 2 * (sp + j * sc)));
                                }
                            }
                            default -> {
                                for (int j = j0; j < j1; j++) {
                                    to.set(B, dp + j, from.get(B, sp + j * sc));
                                }
                            }
                        }
                    }
                }
            }
            int a = r - 2;
            for (; a >= 0; a--) {
                if (a == unit) {
                    continue;
                }
                if (++idx[a] < d[a]) {
                    break;
                }
                idx[a] = 0;
            }
            if (a < 0) {
                return;
            }
        }
    }
}
