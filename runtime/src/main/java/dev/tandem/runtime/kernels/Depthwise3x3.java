package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3×3 depthwise convolution of one float plane at stride 1 or 2 (dilation 1), read from and written to the
 * tensors' memory directly: the zero-padded input rows an output row needs are built on demand in a ring of four
 * L1-resident rows (vector copies from the input; at stride 2 each row is split into its even and odd columns by a
 * two-vector permute), each output vector accumulates the nine taps in a register, and clamp activations (none,
 * ReLU, ReLU6, Clip) are applied before the vector is stored into the output.
 *
 * <p>Why: the plane kernel it replaces for these shapes copied the plane twice (into a staging array, then row by
 * row into a padded buffer), zero-filled the whole buffer, at stride 2 computed every column and kept every second
 * one with a scalar loop, and copied the result once more; those copies took three quarters of its time
 * (MobileNetV2's 96-channel 112×112 stride-2 layer ran at 1.3 GFLOP/s). Here the input is read once and the output
 * written once.
 *
 * <p>Stateless; {@link #plane} may run on many threads at once, each with its own {@link Work}.
 */
final class Depthwise3x3 {
    /** The one float species of the runtime: why not 256-bit on AVX-512 machines, see {@code Conv2d.DS}. */
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = S.length();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final float[] EVEN = new float[VL];
    private static final float[] ODD = new float[VL];

    static {
        for (int i = 0; i < VL; i++) {
            EVEN[i] = 2 * i;
            ODD[i] = 2 * i + 1;
        }
    }

    private Depthwise3x3() {
    }

    /**
     * Layer calls before convolutions switch to this kernel from the copy-based plane kernel. Why: until C2
     * compiles them, its per-row vector copies run in the interpreter at microseconds per vector, which made the
     * first run of MobileNetV2 about 0.5 s longer; the plane kernel's bulk copies cost little there. A hint only:
     * the count is not synchronised.
     */
    private static final int COPY_KERNEL_CALLS = 100;
    private static int calls;

    static boolean warm() {
        if (calls >= COPY_KERNEL_CALLS) {
            return true;
        }
        calls++;
        return false;
    }

    /** Tests: take the warm path from the next call on ({@code true}) or the start-up path again. */
    static void setWarm(boolean warm) {
        calls = warm ? COPY_KERNEL_CALLS : 0;
    }

    /** Whether this kernel computes convolutions with these parameters. */
    static boolean supports(ConvParams p) {
        return p.kernelH() == 3 && p.kernelW() == 3 && p.dilationH() == 1 && p.dilationW() == 1
                && p.strideH() == p.strideW() && (p.strideH() == 1 || p.strideH() == 2);
    }

    /** Per-thread buffers: a ring of four padded input rows, one zero row and one output row. */
    static final class Work {
        float[] buf = new float[0];
        float[] row = new float[0];
        float[] full = new float[0];

        void ensure(int bufSize, int rowSize, int fullSize) {
            if (buf.length < bufSize) {
                buf = new float[bufSize];
            }
            if (row.length < rowSize) {
                row = new float[rowSize];
            }
            if (full.length < fullSize) {
                full = new float[fullSize];
            }
        }
    }

    /**
     * One plane: {@code out[oo..] = act(conv(in[io..]) + bias)}, offsets in floats. {@code k} holds the nine weights
     * at {@code k[kOff..kOff+9)}.
     */
    static void plane(ConvParams p, MemorySegment in, long io, int h, int w, MemorySegment out, long oo, int oh,
                      int ow, float[] k, int kOff, float bias, Activation act, Work work) {
        int s = p.strideH();
        int pt = p.padTop(), pl = p.padLeft();
        int owr = (ow + VL - 1) / VL * VL;
        // Row layout in buf. Stride 1: padded columns [0, rw). Stride 2: even columns [0, half), odd [half, 2·half).
        int full = s == 1 ? owr + 2 : roundUp(2 * owr + 1, 2 * VL);
        int half = full / 2;
        int rw = full + VL;                      // floats per ring slot (padRow's last vector may pass the row)
        int zero = 4 * rw;                       // the zero row's offset
        work.ensure(5 * rw, owr, s == 1 ? 0 : full + VL);
        float[] buf = work.buf;
        java.util.Arrays.fill(buf, zero, zero + rw, 0f);
        boolean clamp = act.isClamp();
        float lo = clamp ? act.clampLow() : Float.NEGATIVE_INFINITY;
        float hi = clamp ? act.clampHigh() : Float.POSITIVE_INFINITY;
        int o1 = s == 1 ? 1 : half, o2 = s == 1 ? 2 : 1;
        int built = 0;                            // padded rows [0, built) are in the ring
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * s;
            while (built < y0 + 3) {
                int iy = built - pt;
                if (iy >= 0 && iy < h) {
                    if (s == 1) {
                        padRow(in, io + (long) iy * w, w, pl, buf, (built & 3) * rw, rw);
                    } else {
                        padRow(in, io + (long) iy * w, w, pl, work.full, 0, full);
                        split(work.full, full, buf, (built & 3) * rw, half);
                    }
                }
                built++;
            }
            int r0 = rowOffset(y0, pt, h, rw, zero), r1 = rowOffset(y0 + 1, pt, h, rw, zero);
            int r2 = rowOffset(y0 + 2, pt, h, rw, zero);
            row(buf, r0, r1, r2, o1, o2, owr, k, kOff, bias, lo, hi, work.row, 0);
            if (!clamp) {
                act.applyInPlace(work.row, 0, ow);
            }
            store(work.row, out, (oo + (long) oy * ow) * 4, ow);
        }
    }

    /**
     * {@code row[rowOff..rowOff+owr)} = one output row, clamped to [lo, hi]: rows r0..r2 of {@code buf}, tap kx at
     * offset 0, {@code o1}, {@code o2}; the nine weights at {@code k[kOff..]}. Small on purpose: C2 keeps its vectors in registers only when it inlines all the
     * Vector API calls, which it stops doing in large methods (the row loop written into {@link #plane} ran
     * MobileNetV2 at half speed).
     */
    static void row(float[] buf, int r0, int r1, int r2, int o1, int o2, int owr, float[] k, int kOff,
                    float bias, float lo, float hi, float[] row, int rowOff) {
        FloatVector w0 = FloatVector.broadcast(S, k[kOff]), w1 = FloatVector.broadcast(S, k[kOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, k[kOff + 2]), w3 = FloatVector.broadcast(S, k[kOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, k[kOff + 4]), w5 = FloatVector.broadcast(S, k[kOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, k[kOff + 6]), w7 = FloatVector.broadcast(S, k[kOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, k[kOff + 8]);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        for (int ox = 0; ox < owr; ox += VL) {
            FloatVector acc = FloatVector.broadcast(S, bias);
            acc = FloatVector.fromArray(S, buf, r0 + ox).fma(w0, acc);
            acc = FloatVector.fromArray(S, buf, r0 + ox + o1).fma(w1, acc);
            acc = FloatVector.fromArray(S, buf, r0 + ox + o2).fma(w2, acc);
            acc = FloatVector.fromArray(S, buf, r1 + ox).fma(w3, acc);
            acc = FloatVector.fromArray(S, buf, r1 + ox + o1).fma(w4, acc);
            acc = FloatVector.fromArray(S, buf, r1 + ox + o2).fma(w5, acc);
            acc = FloatVector.fromArray(S, buf, r2 + ox).fma(w6, acc);
            acc = FloatVector.fromArray(S, buf, r2 + ox + o1).fma(w7, acc);
            acc = FloatVector.fromArray(S, buf, r2 + ox + o2).fma(w8, acc);
            acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
            acc.blend(hiv, acc.compare(VectorOperators.GT, hiv)).intoArray(row, rowOff + ox);
        }
    }

    /**
     * {@code out[at..at+n)} (byte offset {@code at}) = {@code row[0..n)}. A bulk copy: a vector loop here kept its
     * vectors boxed in C2's code (a heap array of each stored vector, about 6 MB of garbage per MobileNetV2 run).
     */
    private static void store(float[] row, MemorySegment out, long at, int n) {
        MemorySegment.copy(row, 0, out, FL, at, n);
    }

    private static int rowOffset(int y, int pt, int h, int rw, int zero) {
        int iy = y - pt;
        return iy >= 0 && iy < h ? (y & 3) * rw : zero;
    }

    /**
     * Row {@code dst[d..d+width)} = padded input row: column j holds input column j − pl, zero outside. Bulk copies,
     * as in {@link #store}: a vector loop here kept its vectors boxed (EfficientNet-B0: 8 MB of garbage per run).
     */
    private static void padRow(MemorySegment in, long src, int w, int pl, float[] dst, int d, int width) {
        int n = Math.max(0, Math.min(w, width - pl));   // input columns that land in the row
        java.util.Arrays.fill(dst, d, d + Math.min(pl, width), 0f);
        MemorySegment.copy(in, FL, src * 4, dst, d + pl, n);
        java.util.Arrays.fill(dst, d + Math.min(pl + n, width), d + width, 0f);
    }

    /** {@code dst[d + j] = src[2j]}, {@code dst[d + half + j] = src[2j + 1]} for j in [0, half); half = VL·m. */
    private static void split(float[] src, int full, float[] dst, int d, int half) {
        FloatVector even = FloatVector.fromArray(S, EVEN, 0);
        FloatVector odd = FloatVector.fromArray(S, ODD, 0);
        for (int x = 0, j = 0; x < full; x += 2 * VL, j += VL) {
            FloatVector a = FloatVector.fromArray(S, src, x);
            FloatVector b = FloatVector.fromArray(S, src, x + VL);
            even.selectFrom(a, b).intoArray(dst, d + j);
            odd.selectFrom(a, b).intoArray(dst, d + half + j);
        }
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }
}
