package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise int8 kernels: dequantization ({@code (q − zero) · scale}, 8-bit to float32), quantization
 * ({@code saturate(rint(x / scale) + zero)}) and requantization of accumulators
 * ({@code saturate(rint(acc · mult + add) + zero)}), rounding half to even as ONNX does. Runs of {@code count}
 * contiguous elements; 8-bit values are read as unsigned or signed as asked and written as their low byte.
 *
 * <p>Vectorised with {@link Simd#FLOAT}'s lane count when that is at least 8 (a byte vector of the same lane count
 * exists); at 128 bits (4 float lanes, no 32-bit byte vector) the loops are scalar. Rounding uses the 1.5·2²³
 * trick on values already clamped to the 8-bit range, which is exact round-half-even there.
 *
 * <p>Why int8 products are not computed in integer lanes: the Vector API has no widening multiply-add (no
 * {@code vpmaddubsw}/{@code vpdpbusd}); an int32 {@code mul + add} or an int16 multiply widened to int32 runs at a
 * third of a float FMA on integer-valued floats, which is exact while partial sums stay below 2²⁴ (see
 * docs/benchmarks.md, "int8"). So the integer ops convert their 8-bit operands to integer-valued floats and use
 * {@link Sgemm} / {@link Conv2d}.
 */
public final class Quant {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = S.length();
    private static final boolean VEC = F == 8 || F == 16;
    private static final VectorSpecies<Byte> B = F >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final float MAGIC = 12582912f; // 1.5 · 2^23: adding and subtracting it rounds half to even
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);

    private Quant() {
    }

    /** The smallest value of an 8-bit type. */
    public static int min(boolean unsigned) {
        return unsigned ? 0 : -128;
    }

    /** The largest value of an 8-bit type. */
    public static int max(boolean unsigned) {
        return unsigned ? 255 : 127;
    }

    /**
     * {@code dst[i] = (src[i] − zero) · scale} for {@code count} bytes at byte {@code srcOff} into floats at
     * element {@code dstOff}.
     */
    public static void dequantize(MemorySegment src, long srcOff, boolean unsigned, int zero, float scale,
                                  MemorySegment dst, long dstOff, long count) {
        long i = 0;
        if (VEC) {
            long bound = count - F;
            if (unsigned) {
                for (; i <= bound; i += F) {
                    dequantizeU8(src, srcOff + i, zero, scale, dst, dstOff + i);
                }
            } else {
                for (; i <= bound; i += F) {
                    dequantizeS8(src, srcOff + i, zero, scale, dst, dstOff + i);
                }
            }
        }
        for (; i < count; i++) {
            int q = src.get(ValueLayout.JAVA_BYTE, srcOff + i);
            if (unsigned) {
                q &= 0xFF;
            }
            dst.setAtIndex(FL, dstOff + i, (float) (q - zero) * scale);
        }
    }

    private static void dequantizeU8(MemorySegment src, long s, int zero, float scale, MemorySegment dst, long d) {
        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, s, LE).convertShape(VectorOperators.B2I, I, 0);
        FloatVector f = (FloatVector) q.and(0xFF).sub(zero).convertShape(VectorOperators.I2F, S, 0);
        f.mul(scale).intoMemorySegment(dst, d * 4, LE);
    }

    private static void dequantizeS8(MemorySegment src, long s, int zero, float scale, MemorySegment dst, long d) {
        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, s, LE).convertShape(VectorOperators.B2I, I, 0);
        FloatVector f = (FloatVector) q.sub(zero).convertShape(VectorOperators.I2F, S, 0);
        f.mul(scale).intoMemorySegment(dst, d * 4, LE);
    }

    /**
     * {@code dst[i] = clamp(rint(src[i] / scale) + zero, lo, hi)}: floats at element {@code srcOff} into bytes at
     * byte {@code dstOff}. {@code lo..hi} is the 8-bit type's range (or narrower).
     */
    public static void quantize(MemorySegment src, long srcOff, float scale, int zero, int lo, int hi,
                                MemorySegment dst, long dstOff, long count) {
        float fl = lo - zero, fh = hi - zero, z = zero;
        long i = 0;
        if (VEC) {
            for (long bound = count - F; i <= bound; i += F) {
                FloatVector v = FloatVector.fromMemorySegment(S, src, (srcOff + i) * 4, LE).div(scale);
                store(v, fl, fh, z, dst, dstOff + i);
            }
        }
        for (; i < count; i++) {
            float v = src.getAtIndex(FL, srcOff + i) / scale;
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) round(v, fl, fh, z));
        }
    }

    /**
     * {@code dst[i] = clamp(rint(fma(src[i], mult, add)) + zero, lo, hi)}: float accumulators at element
     * {@code srcOff} into bytes at byte {@code dstOff}.
     */
    public static void requantize(MemorySegment src, long srcOff, float mult, float add, int zero, int lo, int hi,
                                  MemorySegment dst, long dstOff, long count) {
        float fl = lo - zero, fh = hi - zero, z = zero;
        long i = 0;
        if (VEC) {
            for (long bound = count - F; i <= bound; i += F) {
                FloatVector v = FloatVector.fromMemorySegment(S, src, (srcOff + i) * 4, LE).fma(mult, add);
                store(v, fl, fh, z, dst, dstOff + i);
            }
        }
        for (; i < count; i++) {
            float v = Math.fma(src.getAtIndex(FL, srcOff + i), mult, add);
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) round(v, fl, fh, z));
        }
    }

    /**
     * {@code dst[dstOff + i] = q[i] − zero} for {@code count} 8-bit values at byte {@code srcOff}: a float kernel's
     * view of quantized input ({@link Int8Format}).
     */
    public static void toFloats(MemorySegment src, long srcOff, Int8Format f, float[] dst, int dstOff, int count) {
        int zero = f.zero();
        int i = 0;
        if (VEC) {
            int bound = count - F;
            if (f.unsigned()) {
                for (; i <= bound; i += F) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, srcOff + i, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) q.and(0xFF).sub(zero).convertShape(VectorOperators.I2F, S, 0))
                            .intoArray(dst, dstOff + i);
                }
            } else {
                for (; i <= bound; i += F) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, srcOff + i, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) q.sub(zero).convertShape(VectorOperators.I2F, S, 0)).intoArray(dst, dstOff + i);
                }
            }
        }
        for (; i < count; i++) {
            int q = src.get(ValueLayout.JAVA_BYTE, srcOff + i);
            dst[dstOff + i] = (f.unsigned() ? q & 0xFF : q) - zero;
        }
    }

    /**
     * {@code dst[dstOff + i] = rint(clamp(fma(src[srcOff + i], mult, add), lo, hi)) + zero} for {@code count} floats
     * into 8-bit values at byte {@code dstOff}: a float kernel's accumulators stored as quantized output
     * ({@link Requantization}); {@code lo..hi} (relative to the zero point) is the type's range or narrower.
     */
    public static void fromFloats(float[] src, int srcOff, float mult, float add, float lo, float hi, int zero,
                                  MemorySegment dst, long dstOff, int count) {
        float z = zero;
        int i = 0;
        if (VEC) {
            for (int bound = count - F; i <= bound; i += F) {
                store(FloatVector.fromArray(S, src, srcOff + i).fma(mult, add), lo, hi, z, dst, dstOff + i);
            }
            if (i < count) {
                // a masked vector, not a scalar loop: GEMM tiles arrive cut at image rows into runs of a few values,
                // where the scalar tail cost 2.5 ns a value against 0.9 (24-value runs, 512-bit)
                VectorMask<Float> m = S.indexInRange(i, count);
                FloatVector v = FloatVector.fromArray(S, src, srcOff + i, m).fma(mult, add);
                storeMasked(v, lo, hi, z, dst, dstOff + i, B.indexInRange(i, count));
            }
            return;
        }
        for (; i < count; i++) {
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) round(Math.fma(src[srcOff + i], mult, add), lo, hi, z));
        }
    }

    static void store(FloatVector v, float lo, float hi, float zero, MemorySegment dst, long d) {
        // Clamp by compare and blend (NaN fails the first compare and becomes lo): FloatVector.max/min keep Java's
        // NaN and −0.0 rules with several instructions each. Then round half to even and convert at once: for
        // |c| < 2²², c + 1.5·2²³ holds rint(c) in its low mantissa bits, so its bits minus those of 1.5·2²³ are
        // rint(c) as an int (no float-to-int conversion). Both measured: 0.37 → 0.14 ns a value, 512-bit.
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        FloatVector c = vlo.blend(v, v.compare(VectorOperators.GE, vlo));
        c = c.blend(vhi, c.compare(VectorOperators.GT, vhi));
        IntVector q = c.add(MAGIC).reinterpretAsInts().sub(MAGIC_BITS - (int) zero);
        ((ByteVector) q.convertShape(VectorOperators.I2B, B, 0)).intoMemorySegment(dst, d, LE);
    }

    /** {@link #store} of the lanes {@code m} selects. */
    private static void storeMasked(FloatVector v, float lo, float hi, float zero, MemorySegment dst, long d,
                                    VectorMask<Byte> m) {
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        FloatVector c = vlo.blend(v, v.compare(VectorOperators.GE, vlo));
        c = c.blend(vhi, c.compare(VectorOperators.GT, vhi));
        IntVector q = c.add(MAGIC).reinterpretAsInts().sub(MAGIC_BITS - (int) zero);
        ((ByteVector) q.convertShape(VectorOperators.I2B, B, 0)).intoMemorySegment(dst, d, LE, m);
    }

    /**
     * The scalar rounding of {@link #store}: clamp into {@code [lo, hi]} (NaN to lo), round half to even, add zero.
     */
    static int round(float v, float lo, float hi, float zero) {
        float c = v >= lo ? v : lo;
        c = c > hi ? hi : c;
        return (int) (Math.rint(c) + zero);
    }
}
