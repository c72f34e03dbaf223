package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link Quant}'s vector loops against their scalar definitions, at this JVM's SIMD width: odd counts and offsets
 * (vector body and scalar tail), uint8 and int8, ties rounded half to even, saturation, narrower bounds, NaN.
 */
@Tag("simd")
class QuantTest {
    private static final int[] COUNTS = {0, 1, 3, 8, 17, 31, 64, 100};
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Values with ties (k + 0.5), values past the 8-bit range, infinities and NaN. */
    private static float[] values(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (r.nextInt(8)) {
                case 0 -> r.nextInt(600) - 300 + 0.5f;
                case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 2 -> r.nextInt(20) == 0 ? Float.NaN : 1e9f * (r.nextFloat() - 0.5f);
                default -> (r.nextFloat() - 0.5f) * 400;
            };
        }
        return v;
    }

    private static long expected(float v, float lo, float hi, int zero) {
        float c = Float.isNaN(v) ? lo : Math.min(Math.max(v, lo), hi);
        return (long) Math.rint(c) + zero;
    }

    private static long stored(MemorySegment s, long i, boolean unsigned) {
        byte b = s.get(ValueLayout.JAVA_BYTE, i);
        return unsigned ? b & 0xFF : b;
    }

    @Test
    void eightBitToFloatsAndBack() {
        Random r = new Random(1);
        try (Arena arena = Arena.ofConfined()) {
            for (boolean unsigned : new boolean[] {true, false}) {
                for (int n : COUNTS) {
                    int off = r.nextInt(5);
                    MemorySegment q = arena.allocate(n + off + 1);
                    for (int i = 0; i < n + off + 1; i++) {
                        q.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
                    }
                    Int8Format f = new Int8Format(unsigned, unsigned ? 128 : -5);
                    float[] x = new float[n + 3];
                    Quant.toFloats(q, off, f, x, 2, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(x[2 + i]).as("toFloats %d of %d", i, n)
                                .isEqualTo((float) (stored(q, off + i, unsigned) - f.zero()));
                    }
                    MemorySegment f32 = arena.allocate(4L * (n + 1));
                    Quant.dequantize(q, off, unsigned, f.zero(), 0.25f, f32, 1, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(f32.getAtIndex(FL, 1 + i)).as("dequantize %d of %d", i, n)
                                .isEqualTo((stored(q, off + i, unsigned) - f.zero()) * 0.25f);
                    }
                    // and back: the integer values round-trip exactly
                    MemorySegment back = arena.allocate(n + 1);
                    Quant.fromFloats(x, 2, 1f, 0f, f.low(), f.high(), f.zero(), back, 1, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(stored(back, 1 + i, unsigned)).isEqualTo(stored(q, off + i, unsigned));
                    }
                }
            }
        }
    }

    @Test
    void floatsRoundHalfToEvenAndSaturate() {
        Random r = new Random(2);
        try (Arena arena = Arena.ofConfined()) {
            for (boolean unsigned : new boolean[] {true, false}) {
                int zero = unsigned ? 7 : -3;
                for (int n : COUNTS) {
                    float[] v = values(r, n + 1);
                    MemorySegment src = arena.allocate(4L * (n + 1));
                    MemorySegment.copy(v, 0, src, FL, 0, n + 1);
                    MemorySegment dst = arena.allocate(n + 1);
                    int lo = Quant.min(unsigned), hi = Quant.max(unsigned);
                    float flo = lo - zero, fhi = hi - zero;
                    // fromFloats: scale, add, and bounds narrower than the type (a fused ReLU6)
                    Quant.fromFloats(v, 1, 0.75f, 0.5f, 0f, 40f, zero, dst, 0, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(stored(dst, i, unsigned)).as("fromFloats(%s · 0.75 + 0.5)", v[1 + i])
                                .isEqualTo(expected(Math.fma(v[1 + i], 0.75f, 0.5f), 0f, 40f, zero));
                    }
                    Quant.quantize(src, 1, 0.5f, zero, lo, hi, dst, 0, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(stored(dst, i, unsigned)).as("quantize(%s / 0.5)", v[1 + i])
                                .isEqualTo(expected(v[1 + i] / 0.5f, flo, fhi, zero));
                    }
                    Quant.requantize(src, 1, 0.75f, -1.25f, zero, lo, hi, dst, 0, n);
                    for (int i = 0; i < n; i++) {
                        assertThat(stored(dst, i, unsigned)).as("requantize(%s)", v[1 + i])
                                .isEqualTo(expected(Math.fma(v[1 + i], 0.75f, -1.25f), flo, fhi, zero));
                    }
                }
            }
        }
    }

    @Test
    void tiesGoToEven() {
        float[] v = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 3.4999998f, 3.5000002f, -0.49999997f, 0f, -0f,
            100.5f, 101.5f, 7.5f, 8.5f};
        long[] want = {0, 2, 2, 0, -2, -2, 126, 3, 4, 0, 0, 0, 100, 102, 8, 8};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(v.length);
            Quant.fromFloats(v, 0, 1f, 0f, -128f, 127f, 0, dst, 0, v.length);
            for (int i = 0; i < v.length; i++) {
                assertThat(stored(dst, i, false)).as("rint(%s)", v[i]).isEqualTo(want[i]);
            }
        }
    }
}
