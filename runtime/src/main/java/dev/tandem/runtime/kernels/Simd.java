package dev.tandem.runtime.kernels;

import dev.tandem.runtime.tensor.SegmentTypes;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector width every CPU kernel of this JVM uses, chosen once at start-up.
 *
 * <p>Why a JVM-wide constant and not a constructor argument: the Vector API is only compiled to SIMD
 * instructions when the species is a compile-time constant for C2. A species held in an instance field runs the
 * Java fallback, about 100 times slower (measured: a 6×32 GEMM micro-kernel ran 1.2 GFLOP/s with the species in a
 * final instance field and 131 GFLOP/s with it in a {@code static final}, JDK 25, Xeon with AVX-512). So the
 * species lives in {@code static final} fields here, and tests exercise every width by forking a JVM per width
 * with {@code -Dtandem.simd.bits=128|256|512} (see the surefire executions {@code simd-128/256/512}).
 *
 * <p>System property {@code tandem.simd.bits}: {@code 128}, {@code 256} or {@code 512}; unset means the widest
 * the CPU supports ({@link FloatVector#SPECIES_PREFERRED}). A width wider than the CPU's still computes correctly
 * but slowly (the Vector API's Java fallback), which is what the tests want on small machines.
 */
public final class Simd {
    /** The float species of this JVM. */
    public static final VectorSpecies<Float> FLOAT = chooseFloat();
    /** Lanes of {@link #FLOAT}. */
    public static final int F = FLOAT.length();

    static {
        // Before any kernel compiles, so that C2 never has to revise them (see SegmentTypes).
        SegmentTypes.load();
    }

    private Simd() {
    }

    private static VectorSpecies<Float> chooseFloat() {
        String bits = System.getProperty("tandem.simd.bits", "").trim();
        if (bits.isEmpty() || bits.equals("auto")) {
            return FloatVector.SPECIES_PREFERRED;
        }
        return switch (bits) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> {
                System.getLogger(Simd.class.getName()).log(System.Logger.Level.WARNING,
                        "Ignoring -Dtandem.simd.bits=" + bits + " (use 128, 256 or 512); using "
                                + FloatVector.SPECIES_PREFERRED.vectorBitSize());
                yield FloatVector.SPECIES_PREFERRED;
            }
        };
    }

    /** Bits per float vector in use, e.g. 512. */
    public static int bits() {
        return FLOAT.vectorBitSize();
    }

    /** The widest float vector shape the CPU runs natively, in bits. */
    public static int nativeBits() {
        return VectorShape.preferredShape().vectorBitSize();
    }

    /**
     * {@code v} clamped to {@code [lo, hi]} lane-wise by compare and blend; a NaN lane stays NaN.
     *
     * <p>Why not {@code v.max(lo).min(hi)}: the Vector API's float max and min keep Java's rules for NaN and
     * signed zero, which C2 compiles on x86 to a several-instruction sequence each. In the 3×3 depthwise row loop
     * (nine loads and fused multiply-adds per output vector) that sequence took 60% of the time: 9.9 ns per output
     * vector with max/min, 3.8 ns with compare and blend, 4.0 ns with no clamp (JDK 25, Sapphire Rapids, 256-bit).
     * The one difference: a {@code -0.0} lane stays {@code -0.0} under a clamp at 0 (it compares equal to 0).
     *
     * <p>Kernels write these two lines out instead of calling this: a method taking and returning vectors keeps them
     * in registers only when C2 inlines it, and C2 does not when the method is already compiled to more code than
     * {@code InlineSmallCode} allows or the caller is large. Not inlined, every vector passed goes through a heap
     * box; in a GEMM store epilogue that made 0.4 MB of garbage per EfficientNet-B0 run.
     */
    public static FloatVector clamp(FloatVector v, FloatVector lo, FloatVector hi) {
        FloatVector r = v.blend(lo, v.compare(VectorOperators.LT, lo));
        return r.blend(hi, r.compare(VectorOperators.GT, hi));
    }

    static final float[] EVEN_LANES = lanes(0);
    static final float[] ODD_LANES = lanes(1);

    private static float[] lanes(int first) {
        float[] l = new float[F];
        for (int i = 0; i < F; i++) {
            l[i] = 2 * i + first;
        }
        return l;
    }

    /**
     * {@code evens[j] = src[2j]}, {@code odds[j] = src[2j + 1]} for {@code 2j < length}, by two-vector permutes;
     * {@code length} is a multiple of {@code 2·F} (stride-2 convolution inputs and max pooling).
     */
    static void splitEvenOdd(float[] src, int length, float[] evens, float[] odds) {
        splitEvenOdd(src, length, evens, 0, odds, 0);
    }

    /** {@link #splitEvenOdd(float[], int, float[], float[])} writing from {@code evens[eOff]} and {@code odds[oOff]}. */
    static void splitEvenOdd(float[] src, int length, float[] evens, int eOff, float[] odds, int oOff) {
        splitEvenOdd(src, 0, length, evens, eOff, odds, oOff);
    }

    /** {@link #splitEvenOdd(float[], int, float[], int, float[], int)} of {@code src[srcOff, srcOff + length)}. */
    static void splitEvenOdd(float[] src, int srcOff, int length, float[] evens, int eOff, float[] odds, int oOff) {
        FloatVector even = FloatVector.fromArray(FLOAT, EVEN_LANES, 0);
        FloatVector odd = FloatVector.fromArray(FLOAT, ODD_LANES, 0);
        for (int x = srcOff, j = 0; x < srcOff + length; x += 2 * F, j += F) {
            FloatVector a = FloatVector.fromArray(FLOAT, src, x);
            FloatVector b = FloatVector.fromArray(FLOAT, src, x + F);
            even.selectFrom(a, b).intoArray(evens, eOff + j);
            odd.selectFrom(a, b).intoArray(odds, oOff + j);
        }
    }

    /**
     * {@link #splitEvenOdd(float[], int, int, float[], int, float[], int)} reading {@code length} floats of a memory
     * segment from byte offset {@code at} (all of them must lie inside it).
     */
    static void splitEvenOdd(MemorySegment src, long at, int length, float[] evens, int eOff, float[] odds,
                             int oOff) {
        FloatVector even = FloatVector.fromArray(FLOAT, EVEN_LANES, 0);
        FloatVector odd = FloatVector.fromArray(FLOAT, ODD_LANES, 0);
        for (int x = 0, j = 0; x < length; x += 2 * F, j += F) {
            FloatVector a = FloatVector.fromMemorySegment(FLOAT, src, at + 4L * x, ByteOrder.nativeOrder());
            FloatVector b = FloatVector.fromMemorySegment(FLOAT, src, at + 4L * (x + F), ByteOrder.nativeOrder());
            even.selectFrom(a, b).intoArray(evens, eOff + j);
            odd.selectFrom(a, b).intoArray(odds, oOff + j);
        }
    }

    /**
     * Index vectors that interleave two vectors a, b: {@code INTERLEAVE_LOW} gives a0 b0 a1 b1 …,
     * {@code INTERLEAVE_HIGH} the same of the upper halves.
     */
    static final float[] INTERLEAVE_LOW = interleave(0);
    static final float[] INTERLEAVE_HIGH = interleave(F / 2);

    private static float[] interleave(int first) {
        float[] l = new float[F];
        for (int i = 0; i < F; i++) {
            l[i] = (i & 1) == 0 ? first + i / 2 : F + first + i / 2;
        }
        return l;
    }
}
