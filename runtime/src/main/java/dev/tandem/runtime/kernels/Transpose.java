package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Planes {@code [ch][h·w]} into channels-last rows by register transposes of blocks of {@code VL × VL} floats (VL
 * channels × VL positions): VL vector loads, {@code VL·log₂VL} two-vector lane selects that swap the off-diagonal
 * blocks of each size, VL vector stores, instead of one scalar load and store per element. Written out for 16 and 8
 * lanes (AVX-512, AVX2); other widths, and the positions past the last whole block, go element by element.
 */
final class Transpose {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final float[] LO8 = swap(8, false), HI8 = swap(8, true), LO4 = swap(4, false), HI4 = swap(4, true);
    private static final float[] LO2 = swap(2, false), HI2 = swap(2, true), LO1 = swap(1, false), HI1 = swap(1, true);

    private Transpose() {
    }

    /**
     * Lane indices (into the pair {@code a, b}) that swap blocks of {@code bs} lanes: the low result is a's even
     * blocks with b's even blocks after them ({@code [A, C]}), the high one a's odd blocks then b's odd blocks
     * ({@code [B, D]}). Only for block sizes below the lane count.
     */
    private static float[] swap(int bs, boolean high) {
        float[] idx = new float[VL];
        for (int j = 0; j < VL; j++) {
            boolean first = (j / bs) % 2 == 0;
            idx[j] = bs >= VL ? j : high ? (first ? j + bs : VL + j) : (first ? j : VL + j - bs);
        }
        return idx;
    }

    /**
     * {@code out[dest[p] + k] = src[off + k·hw + p]} for channels {@code k < ch} and positions {@code p < hw}
     * ({@code off} in floats): one image's planes to channels-last rows wherever {@code dest} puts each position
     * (e.g. inside a zero border).
     */
    static void channelsLast(MemorySegment src, long off, int ch, int hw, int[] dest, float[] out) {
        int k = 0;
        if (VL == 16 || VL == 8) {
            for (; k + VL <= ch; k += VL) {
                int p = 0;
                for (; p + VL <= hw; p += VL) {
                    if (VL == 16) {
                        block16(src, 4 * (off + (long) k * hw + p), 4L * hw, dest, p, out, k);
                    } else {
                        block8(src, 4 * (off + (long) k * hw + p), 4L * hw, dest, p, out, k);
                    }
                }
                scalar(src, off, k, k + VL, p, hw, dest, out);
            }
        }
        scalar(src, off, k, ch, 0, hw, dest, out);
    }

    private static void scalar(MemorySegment src, long off, int k0, int k1, int p0, int hw, int[] dest, float[] out) {
        for (int k = k0; k < k1; k++) {
            long plane = off + (long) k * hw;
            for (int p = p0; p < hw; p++) {
                out[dest[p] + k] = src.getAtIndex(F, plane + p);
            }
        }
    }

    /** One 16 × 16 block: rows are channels k.. at byte {@code s} (a row every {@code step} bytes), positions p... */
    private static void block16(MemorySegment src, long s, long step, int[] dest, int p, float[] out, int k) {
        FloatVector lo8 = FloatVector.fromArray(S, LO8, 0), hi8 = FloatVector.fromArray(S, HI8, 0);
        FloatVector lo4 = FloatVector.fromArray(S, LO4, 0), hi4 = FloatVector.fromArray(S, HI4, 0);
        FloatVector lo2 = FloatVector.fromArray(S, LO2, 0), hi2 = FloatVector.fromArray(S, HI2, 0);
        FloatVector lo1 = FloatVector.fromArray(S, LO1, 0), hi1 = FloatVector.fromArray(S, HI1, 0);
        FloatVector r0 = FloatVector.fromMemorySegment(S, src, s + 0L * step, LE);
        FloatVector r1 = FloatVector.fromMemorySegment(S, src, s + 1L * step, LE);
        FloatVector r2 = FloatVector.fromMemorySegment(S, src, s + 2L * step, LE);
        FloatVector r3 = FloatVector.fromMemorySegment(S, src, s + 3L * step, LE);
        FloatVector r4 = FloatVector.fromMemorySegment(S, src, s + 4L * step, LE);
        FloatVector r5 = FloatVector.fromMemorySegment(S, src, s + 5L * step, LE);
        FloatVector r6 = FloatVector.fromMemorySegment(S, src, s + 6L * step, LE);
        FloatVector r7 = FloatVector.fromMemorySegment(S, src, s + 7L * step, LE);
        FloatVector r8 = FloatVector.fromMemorySegment(S, src, s + 8L * step, LE);
        FloatVector r9 = FloatVector.fromMemorySegment(S, src, s + 9L * step, LE);
        FloatVector r10 = FloatVector.fromMemorySegment(S, src, s + 10L * step, LE);
        FloatVector r11 = FloatVector.fromMemorySegment(S, src, s + 11L * step, LE);
        FloatVector r12 = FloatVector.fromMemorySegment(S, src, s + 12L * step, LE);
        FloatVector r13 = FloatVector.fromMemorySegment(S, src, s + 13L * step, LE);
        FloatVector r14 = FloatVector.fromMemorySegment(S, src, s + 14L * step, LE);
        FloatVector r15 = FloatVector.fromMemorySegment(S, src, s + 15L * step, LE);
        FloatVector s0_0 = lo8.selectFrom(r0, r8), s0_8 = hi8.selectFrom(r0, r8);
        FloatVector s0_1 = lo8.selectFrom(r1, r9), s0_9 = hi8.selectFrom(r1, r9);
        FloatVector s0_2 = lo8.selectFrom(r2, r10), s0_10 = hi8.selectFrom(r2, r10);
        FloatVector s0_3 = lo8.selectFrom(r3, r11), s0_11 = hi8.selectFrom(r3, r11);
        FloatVector s0_4 = lo8.selectFrom(r4, r12), s0_12 = hi8.selectFrom(r4, r12);
        FloatVector s0_5 = lo8.selectFrom(r5, r13), s0_13 = hi8.selectFrom(r5, r13);
        FloatVector s0_6 = lo8.selectFrom(r6, r14), s0_14 = hi8.selectFrom(r6, r14);
        FloatVector s0_7 = lo8.selectFrom(r7, r15), s0_15 = hi8.selectFrom(r7, r15);
        FloatVector s1_0 = lo4.selectFrom(s0_0, s0_4), s1_4 = hi4.selectFrom(s0_0, s0_4);
        FloatVector s1_1 = lo4.selectFrom(s0_1, s0_5), s1_5 = hi4.selectFrom(s0_1, s0_5);
        FloatVector s1_2 = lo4.selectFrom(s0_2, s0_6), s1_6 = hi4.selectFrom(s0_2, s0_6);
        FloatVector s1_3 = lo4.selectFrom(s0_3, s0_7), s1_7 = hi4.selectFrom(s0_3, s0_7);
        FloatVector s1_8 = lo4.selectFrom(s0_8, s0_12), s1_12 = hi4.selectFrom(s0_8, s0_12);
        FloatVector s1_9 = lo4.selectFrom(s0_9, s0_13), s1_13 = hi4.selectFrom(s0_9, s0_13);
        FloatVector s1_10 = lo4.selectFrom(s0_10, s0_14), s1_14 = hi4.selectFrom(s0_10, s0_14);
        FloatVector s1_11 = lo4.selectFrom(s0_11, s0_15), s1_15 = hi4.selectFrom(s0_11, s0_15);
        FloatVector s2_0 = lo2.selectFrom(s1_0, s1_2), s2_2 = hi2.selectFrom(s1_0, s1_2);
        FloatVector s2_1 = lo2.selectFrom(s1_1, s1_3), s2_3 = hi2.selectFrom(s1_1, s1_3);
        FloatVector s2_4 = lo2.selectFrom(s1_4, s1_6), s2_6 = hi2.selectFrom(s1_4, s1_6);
        FloatVector s2_5 = lo2.selectFrom(s1_5, s1_7), s2_7 = hi2.selectFrom(s1_5, s1_7);
        FloatVector s2_8 = lo2.selectFrom(s1_8, s1_10), s2_10 = hi2.selectFrom(s1_8, s1_10);
        FloatVector s2_9 = lo2.selectFrom(s1_9, s1_11), s2_11 = hi2.selectFrom(s1_9, s1_11);
        FloatVector s2_12 = lo2.selectFrom(s1_12, s1_14), s2_14 = hi2.selectFrom(s1_12, s1_14);
        FloatVector s2_13 = lo2.selectFrom(s1_13, s1_15), s2_15 = hi2.selectFrom(s1_13, s1_15);
        FloatVector s3_0 = lo1.selectFrom(s2_0, s2_1), s3_1 = hi1.selectFrom(s2_0, s2_1);
        FloatVector s3_2 = lo1.selectFrom(s2_2, s2_3), s3_3 = hi1.selectFrom(s2_2, s2_3);
        FloatVector s3_4 = lo1.selectFrom(s2_4, s2_5), s3_5 = hi1.selectFrom(s2_4, s2_5);
        FloatVector s3_6 = lo1.selectFrom(s2_6, s2_7), s3_7 = hi1.selectFrom(s2_6, s2_7);
        FloatVector s3_8 = lo1.selectFrom(s2_8, s2_9), s3_9 = hi1.selectFrom(s2_8, s2_9);
        FloatVector s3_10 = lo1.selectFrom(s2_10, s2_11), s3_11 = hi1.selectFrom(s2_10, s2_11);
        FloatVector s3_12 = lo1.selectFrom(s2_12, s2_13), s3_13 = hi1.selectFrom(s2_12, s2_13);
        FloatVector s3_14 = lo1.selectFrom(s2_14, s2_15), s3_15 = hi1.selectFrom(s2_14, s2_15);
        s3_0.intoArray(out, dest[p + 0] + k);
        s3_1.intoArray(out, dest[p + 1] + k);
        s3_2.intoArray(out, dest[p + 2] + k);
        s3_3.intoArray(out, dest[p + 3] + k);
        s3_4.intoArray(out, dest[p + 4] + k);
        s3_5.intoArray(out, dest[p + 5] + k);
        s3_6.intoArray(out, dest[p + 6] + k);
        s3_7.intoArray(out, dest[p + 7] + k);
        s3_8.intoArray(out, dest[p + 8] + k);
        s3_9.intoArray(out, dest[p + 9] + k);
        s3_10.intoArray(out, dest[p + 10] + k);
        s3_11.intoArray(out, dest[p + 11] + k);
        s3_12.intoArray(out, dest[p + 12] + k);
        s3_13.intoArray(out, dest[p + 13] + k);
        s3_14.intoArray(out, dest[p + 14] + k);
        s3_15.intoArray(out, dest[p + 15] + k);
    }

    /** One 8 × 8 block, as {@link #block16}. */
    private static void block8(MemorySegment src, long s, long step, int[] dest, int p, float[] out, int k) {
        FloatVector lo4 = FloatVector.fromArray(S, LO4, 0), hi4 = FloatVector.fromArray(S, HI4, 0);
        FloatVector lo2 = FloatVector.fromArray(S, LO2, 0), hi2 = FloatVector.fromArray(S, HI2, 0);
        FloatVector lo1 = FloatVector.fromArray(S, LO1, 0), hi1 = FloatVector.fromArray(S, HI1, 0);
        FloatVector r0 = FloatVector.fromMemorySegment(S, src, s + 0L * step, LE);
        FloatVector r1 = FloatVector.fromMemorySegment(S, src, s + 1L * step, LE);
        FloatVector r2 = FloatVector.fromMemorySegment(S, src, s + 2L * step, LE);
        FloatVector r3 = FloatVector.fromMemorySegment(S, src, s + 3L * step, LE);
        FloatVector r4 = FloatVector.fromMemorySegment(S, src, s + 4L * step, LE);
        FloatVector r5 = FloatVector.fromMemorySegment(S, src, s + 5L * step, LE);
        FloatVector r6 = FloatVector.fromMemorySegment(S, src, s + 6L * step, LE);
        FloatVector r7 = FloatVector.fromMemorySegment(S, src, s + 7L * step, LE);
        FloatVector s0_0 = lo4.selectFrom(r0, r4), s0_4 = hi4.selectFrom(r0, r4);
        FloatVector s0_1 = lo4.selectFrom(r1, r5), s0_5 = hi4.selectFrom(r1, r5);
        FloatVector s0_2 = lo4.selectFrom(r2, r6), s0_6 = hi4.selectFrom(r2, r6);
        FloatVector s0_3 = lo4.selectFrom(r3, r7), s0_7 = hi4.selectFrom(r3, r7);
        FloatVector s1_0 = lo2.selectFrom(s0_0, s0_2), s1_2 = hi2.selectFrom(s0_0, s0_2);
        FloatVector s1_1 = lo2.selectFrom(s0_1, s0_3), s1_3 = hi2.selectFrom(s0_1, s0_3);
        FloatVector s1_4 = lo2.selectFrom(s0_4, s0_6), s1_6 = hi2.selectFrom(s0_4, s0_6);
        FloatVector s1_5 = lo2.selectFrom(s0_5, s0_7), s1_7 = hi2.selectFrom(s0_5, s0_7);
        FloatVector s2_0 = lo1.selectFrom(s1_0, s1_1), s2_1 = hi1.selectFrom(s1_0, s1_1);
        FloatVector s2_2 = lo1.selectFrom(s1_2, s1_3), s2_3 = hi1.selectFrom(s1_2, s1_3);
        FloatVector s2_4 = lo1.selectFrom(s1_4, s1_5), s2_5 = hi1.selectFrom(s1_4, s1_5);
        FloatVector s2_6 = lo1.selectFrom(s1_6, s1_7), s2_7 = hi1.selectFrom(s1_6, s1_7);
        s2_0.intoArray(out, dest[p + 0] + k);
        s2_1.intoArray(out, dest[p + 1] + k);
        s2_2.intoArray(out, dest[p + 2] + k);
        s2_3.intoArray(out, dest[p + 3] + k);
        s2_4.intoArray(out, dest[p + 4] + k);
        s2_5.intoArray(out, dest[p + 5] + k);
        s2_6.intoArray(out, dest[p + 6] + k);
        s2_7.intoArray(out, dest[p + 7] + k);
    }
}
