package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Arithmetic from 8-bit values to 8-bit values, the kernels of the quantized element-wise ops ({@code dev.tandem.QAdd},
 * {@code QMul}, {@code QGlobalAveragePool}): each input byte is read as its stored value q (unsigned or signed as
 * asked), the result {@code v} is computed in float and written as {@code rint(clamp(v, lo, hi)) + zero} (round half
 * to even; {@code lo..hi} relative to the zero point, the type's range or narrower, NaN to lo) like
 * {@link Quant#fromFloats}. Runs of {@code count} contiguous values; any of the ranges may coincide.
 *
 * <p>Vectorised with {@link Simd#FLOAT}'s lane count when that is 8 or 16, as {@link Quant}; scalar otherwise.
 */
public final class Int8Arithmetic {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = S.length();
    private static final boolean VEC = F == 8 || F == 16;
    private static final VectorSpecies<Byte> B = F >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Int8Arithmetic() {
    }

    /** {@code v = q · m + c}: one input scaled and shifted (a per-channel or scalar second operand folded in). */
    public static void affine(MemorySegment src, long srcOff, boolean unsigned, float m, float c, float lo, float hi,
                              int zero, MemorySegment dst, long dstOff, long count) {
        long i = 0;
        if (VEC) {
            for (long bound = count - F; i <= bound; i += F) {
                Quant.store(load(src, srcOff + i, unsigned).fma(m, c), lo, hi, zero, dst, dstOff + i);
            }
        }
        for (; i < count; i++) {
            float v = Math.fma((float) get(src, srcOff + i, unsigned), m, c);
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) Quant.round(v, lo, hi, zero));
        }
    }

    /** {@code v = qa · ma + qb · mb + c}: the sum of two scaled inputs (a quantized Add). */
    public static void add(MemorySegment a, long aOff, boolean au, float ma, MemorySegment b, long bOff, boolean bu,
                           float mb, float c, float lo, float hi, int zero, MemorySegment dst, long dstOff,
                           long count) {
        long i = 0;
        if (VEC) {
            for (long bound = count - F; i <= bound; i += F) {
                FloatVector vb = load(b, bOff + i, bu).fma(mb, c);
                FloatVector v = load(a, aOff + i, au).fma(FloatVector.broadcast(S, ma), vb);
                Quant.store(v, lo, hi, zero, dst, dstOff + i);
            }
        }
        for (; i < count; i++) {
            float v = Math.fma((float) get(a, aOff + i, au), ma, Math.fma((float) get(b, bOff + i, bu), mb, c));
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) Quant.round(v, lo, hi, zero));
        }
    }

    /** {@code v = (qa − za) · (qb − zb) · m}: the scaled product of two inputs (a quantized Mul). */
    public static void mul(MemorySegment a, long aOff, boolean au, int za, MemorySegment b, long bOff, boolean bu,
                           int zb, float m, float lo, float hi, int zero, MemorySegment dst, long dstOff, long count) {
        long i = 0;
        if (VEC) {
            for (long bound = count - F; i <= bound; i += F) {
                FloatVector v = load(a, aOff + i, au).sub(za).mul(load(b, bOff + i, bu).sub(zb)).mul(m);
                Quant.store(v, lo, hi, zero, dst, dstOff + i);
            }
        }
        for (; i < count; i++) {
            float v = (float) (get(a, aOff + i, au) - za) * (get(b, bOff + i, bu) - zb) * m;
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) Quant.round(v, lo, hi, zero));
        }
    }

    /** The sum of {@code count} stored values (exact: at most 2³¹ / 255 of them per call). */
    public static long sum(MemorySegment src, long srcOff, boolean unsigned, long count) {
        long total = 0;
        long i = 0;
        if (VEC) {
            IntVector acc = IntVector.zero(I);
            // int lanes cannot overflow within 2^23 vectors of values at most 255
            for (long bound = count - F; i <= bound; i += F) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, srcOff + i, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                acc = acc.add(unsigned ? q.and(0xFF) : q);
            }
            total = acc.reduceLanesToLong(VectorOperators.ADD);
        }
        for (; i < count; i++) {
            total += get(src, srcOff + i, unsigned);
        }
        return total;
    }

    private static FloatVector load(MemorySegment s, long off, boolean unsigned) {
        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, s, off, LE).convertShape(VectorOperators.B2I, I, 0);
        return (FloatVector) (unsigned ? q.and(0xFF) : q).convertShape(VectorOperators.I2F, S, 0);
    }

    private static int get(MemorySegment s, long off, boolean unsigned) {
        byte b = s.get(ValueLayout.JAVA_BYTE, off);
        return unsigned ? b & 0xFF : b;
    }
}
