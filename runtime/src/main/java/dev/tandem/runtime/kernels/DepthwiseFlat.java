package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3×3 depthwise convolution with one row and column of zero padding on every side, computed over a plane as one
 * flat run of values. At stride 1 (the output as large as the input), output {@code i} is the sum of the nine taps
 * at {@code i + dy·w + dx}: every vector holds 16 outputs whatever the plane's width (a 14×14 plane is 13 vectors,
 * not 14 rows of one vector each), with no per-row work at all. At stride 2 ({@link #planeStride2}) the input is
 * first split into its four phase planes, and the output runs flat over them the same way.
 *
 * <p>The plane is copied into a buffer with a zero margin of more than a row before and after it, so the taps
 * above the first row and below the last read zeros (a large plane reads its inner rows in place). A tap left of
 * column 0 (or right of column w−1) would read the neighbouring row's end (or start): the left and right taps of
 * each vector are summed apart from the centre ones and added to them only in the lanes not in the first (last)
 * column; the masks depend only on the output's width and are built once per layer ({@link Layer}).
 *
 * <p>Why: the row kernel ({@link Depthwise3x3}) pays a padded-row copy, an output-row copy and a call per output row,
 * and rounds every row up to whole vectors; at MobileNetV2's 56- and 28-wide planes that per-row work cost more
 * than the arithmetic (144 channels of 56×56 ran at 18 GFLOP/s on one core; 192 of 28×28 at 13).
 *
 * <p>5×5 kernels with pads of 2 work the same way ({@link #plane5}, {@link #plane5Stride2}): two columns masked on
 * each side, and at stride 2 taps one phase-plane row or column either way. A fused 1×1 expansion can compute its
 * output already in phase order ({@link #splitPhases} on its input), which {@link #planePhases} and
 * {@link #planePhases5} take without a split of their own.
 *
 * <p>Stateless; the plane methods may run on many threads at once, each with its own {@link Work}, sharing one
 * {@link Layer}.
 */
final class DepthwiseFlat {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = S.length();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();

    /** Planes of at least this many values read their inner rows in place (measured: 28×28 and smaller lose). */
    static final int DIRECT_MIN = 1024;

    private DepthwiseFlat() {
    }

    /** Whether this kernel computes convolutions with these parameters (3×3, stride 1, dilation 1, pads of 1). */
    static boolean supports(ConvParams p) {
        return p.kernelH() == 3 && p.kernelW() == 3 && p.dilationH() == 1 && p.dilationW() == 1
                && p.strideH() == 1 && p.strideW() == 1 && p.padTop() == 1 && p.padLeft() == 1
                && p.padBottom() == 1 && p.padRight() == 1;
    }

    /** Whether {@link #plane5} computes convolutions with these parameters (5×5, stride 1, dilation 1, pads of 2). */
    static boolean supports5(ConvParams p) {
        return p.kernelH() == 5 && p.kernelW() == 5 && p.dilationH() == 1 && p.dilationW() == 1
                && p.strideH() == 1 && p.strideW() == 1 && p.padTop() == 2 && p.padLeft() == 2
                && p.padBottom() == 2 && p.padRight() == 2;
    }

    /**
     * Whether {@link #planeStride2} computes convolutions with these parameters (3×3, stride 2, dilation 1, pads of 1)
     * over an h × w input: both even, so the output is exactly (h/2) × (w/2) and every tap lands inside the input
     * or the zero padding above and to the left.
     */
    static boolean supportsStride2(ConvParams p, int h, int w) {
        return p.kernelH() == 3 && p.kernelW() == 3 && p.dilationH() == 1 && p.dilationW() == 1
                && p.strideH() == 2 && p.strideW() == 2 && p.padTop() == 1 && p.padLeft() == 1
                && p.padBottom() == 1 && p.padRight() == 1 && h % 2 == 0 && w % 2 == 0 && h > 0 && w > 0;
    }

    /** Per-thread buffers: the padded plane (or phase planes), the output plane, a copy of the input's last rows. */
    static final class Work {
        float[] in = new float[0];
        float[] out = new float[0];
        float[] src = new float[0];

        private static float[] atLeast(float[] a, int size) {
            return a.length >= size ? a : new float[size];
        }
    }

    /**
     * What a layer's planes share: the column masks of its output plane ({@code w} wide, over its first {@code vecs}
     * vectors: 0 where a lane is in the first (left) or last (right) column, 1 elsewhere) and its activation's clamp
     * bounds. Immutable; a layer builds one for its output size ({@link #of}) and shares it between its threads.
     */
    static final class Layer {
        final int w;
        final int vecs;
        final float[] left;
        final float[] right;
        /** 5×5 kernels: 0 in the first two (left2) or last two (right2) columns. */
        final float[] left2;
        final float[] right2;
        final Activation act;
        final boolean clamp;
        /** SiLU: the 5×5 kernel applies it in registers (x·sigmoid(x), as {@link Activation} computes it). */
        final boolean silu;
        final float lo;
        final float hi;

        private Layer(int w, int vecs, Activation act) {
            this.w = w;
            this.vecs = vecs;
            this.act = act;
            left = new float[vecs * VL];
            right = new float[vecs * VL];
            left2 = new float[vecs * VL];
            right2 = new float[vecs * VL];
            for (int i = 0; i < vecs * VL; i++) {
                int x = i % w;
                left[i] = x == 0 ? 0f : 1f;
                right[i] = x == w - 1 ? 0f : 1f;
                left2[i] = x <= 1 ? 0f : 1f;
                right2[i] = x >= w - 2 ? 0f : 1f;
            }
            clamp = act.isClamp();
            silu = act.kind() == Activation.Kind.SILU;
            lo = clamp ? act.clampLow() : Float.NEGATIVE_INFINITY;
            hi = clamp ? act.clampHigh() : Float.POSITIVE_INFINITY;
        }

        /** {@code have} if it covers an oh × ow output with {@code act}, else one that does. */
        static Layer of(Layer have, int oh, int ow, Activation act) {
            int vecs = ((oh * ow + VL - 1) / VL + 1) & ~1;   // even: the 5×5 kernel runs two vectors per step
            return have != null && have.w == ow && have.vecs >= vecs && have.act.equals(act) ? have
                    : new Layer(ow, vecs, act);
        }
    }

    /** Floats of zeros before the plane: at least a row and one more value, rounded to whole vectors. */
    private static int margin(int w) {
        return (w + 1 + VL - 1) / VL * VL;
    }

    /**
     * One plane: {@code out[oo..] = act(conv(in[io..]) + bias)}, offsets in floats, the plane h × w in and out.
     * {@code k} holds the nine weights at {@code k[kOff..kOff+9)}.
     */
    static void plane(MemorySegment in, long io, int h, int w, MemorySegment out, long oo, float[] k, int kOff,
                      float bias, Layer layer, Work work) {
        int n = h * w;
        int vecs = (n + VL - 1) / VL;
        work.in = Work.atLeast(work.in, margin(w) + vecs * VL + w + 1);
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] buf = work.in, res = work.out;
        int m = margin(w);
        int end = m + vecs * VL + w + 1;
        boolean clamp = layer.clamp;
        float lo = layer.lo, hi = layer.hi;
        int whole = clamp ? n / VL : 0;           // vectors stored straight into the output
        // In a large plane, vectors [d0, d1) have all nine taps inside it and read it in place; the rest (all of a
        // small plane's, where the extra calls cost more than the copy) read the padded copy.
        int d0 = n >= DIRECT_MIN ? Math.min(whole, (w + 1 + VL - 1) / VL) : 0;
        int d1 = n >= DIRECT_MIN ? Math.max(d0, Math.min(whole, Math.floorDiv(n - VL - w - 1, VL) + 1)) : 0;
        java.util.Arrays.fill(buf, 0, m, 0f);
        if (d1 > d0) {
            int head = Math.min(n, d0 * VL + w + 1), tail = Math.max(head, d1 * VL - w - 1);
            MemorySegment.copy(in, FL, io * 4, buf, m, head);
            MemorySegment.copy(in, FL, (io + tail) * 4, buf, m + tail, n - tail);
        } else {
            MemorySegment.copy(in, FL, io * 4, buf, m, n);
        }
        java.util.Arrays.fill(buf, m + n, end, 0f);
        if (d0 > 0) {
            runInto(buf, m, w, 0, d0, whole, layer.left, layer.right, k, kOff, bias, lo, hi, out, oo * 4, res);
        }
        if (d1 > d0) {
            runDirect(in, io * 4, w, d0, d1, layer.left, layer.right, k, kOff, bias, lo, hi, out, oo * 4);
        }
        runInto(buf, m, w, d1, vecs, whole, layer.left, layer.right, k, kOff, bias, lo, hi, out, oo * 4, res);
        if (!clamp) {
            layer.act.applyInPlace(res, 0, n);
        }
        MemorySegment.copy(res, whole * VL, out, FL, (oo + whole * VL) * 4, n - whole * VL);
    }

    /**
     * Vectors {@code [v0, v1)} of the plane's outputs, clamped to [lo, hi], from the plane at {@code buf[m..]} (w
     * wide, zero margins): those below {@code whole} stored into {@code out} at byte offset {@code ob}, the rest into
     * {@code res} at their index. Small on purpose, so that C2 inlines every Vector API call and keeps the vectors in
     * registers.
     */
    static void runInto(float[] buf, int m, int w, int v0, int v1, int whole, float[] left, float[] right, float[] k,
                        int kOff, float bias, float lo, float hi, MemorySegment out, long ob, float[] res) {
        FloatVector w0 = FloatVector.broadcast(S, k[kOff]), w1 = FloatVector.broadcast(S, k[kOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, k[kOff + 2]), w3 = FloatVector.broadcast(S, k[kOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, k[kOff + 4]), w5 = FloatVector.broadcast(S, k[kOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, k[kOff + 6]), w7 = FloatVector.broadcast(S, k[kOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, k[kOff + 8]);
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        for (int i = v0 * VL, at = m + i; i < v1 * VL; i += VL, at += VL) {
            int up = at - w, down = at + w;
            FloatVector c = FloatVector.fromArray(S, buf, up).fma(w1, b);
            c = FloatVector.fromArray(S, buf, at).fma(w4, c);
            c = FloatVector.fromArray(S, buf, down).fma(w7, c);
            FloatVector l = FloatVector.fromArray(S, buf, up - 1).mul(w0);
            l = FloatVector.fromArray(S, buf, at - 1).fma(w3, l);
            l = FloatVector.fromArray(S, buf, down - 1).fma(w6, l);
            FloatVector r = FloatVector.fromArray(S, buf, up + 1).mul(w2);
            r = FloatVector.fromArray(S, buf, at + 1).fma(w5, r);
            r = FloatVector.fromArray(S, buf, down + 1).fma(w8, r);
            // masked adds, not a multiply by the 0/1 mask: an infinite value in the neighbouring row must not
            // turn the cleared lanes into NaN
            FloatVector acc = c.add(l, FloatVector.fromArray(S, left, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(r, FloatVector.fromArray(S, right, i).compare(VectorOperators.NE, 0f));
            acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
            acc = acc.blend(hiv, acc.compare(VectorOperators.GT, hiv));
            if (i < whole * VL) {
                acc.intoMemorySegment(out, ob + 4L * i, LE);
            } else {
                acc.intoArray(res, i);
            }
        }
    }

    /** {@link #runInto} for vectors all stored into {@code out}, reading the plane in place at byte offset {@code ib} (every tap inside it). */
    static void runDirect(MemorySegment in, long ib, int w, int v0, int v1, float[] left, float[] right, float[] k,
                          int kOff, float bias, float lo, float hi, MemorySegment out, long ob) {
        FloatVector w0 = FloatVector.broadcast(S, k[kOff]), w1 = FloatVector.broadcast(S, k[kOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, k[kOff + 2]), w3 = FloatVector.broadcast(S, k[kOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, k[kOff + 4]), w5 = FloatVector.broadcast(S, k[kOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, k[kOff + 6]), w7 = FloatVector.broadcast(S, k[kOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, k[kOff + 8]);
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        for (int i = v0 * VL; i < v1 * VL; i += VL) {
            long up = ib + 4L * (i - w), mid = ib + 4L * i, down = ib + 4L * (i + w);
            FloatVector c = FloatVector.fromMemorySegment(S, in, up, LE).fma(w1, b);
            c = FloatVector.fromMemorySegment(S, in, mid, LE).fma(w4, c);
            c = FloatVector.fromMemorySegment(S, in, down, LE).fma(w7, c);
            FloatVector l = FloatVector.fromMemorySegment(S, in, up - 4, LE).mul(w0);
            l = FloatVector.fromMemorySegment(S, in, mid - 4, LE).fma(w3, l);
            l = FloatVector.fromMemorySegment(S, in, down - 4, LE).fma(w6, l);
            FloatVector r = FloatVector.fromMemorySegment(S, in, up + 4, LE).mul(w2);
            r = FloatVector.fromMemorySegment(S, in, mid + 4, LE).fma(w5, r);
            r = FloatVector.fromMemorySegment(S, in, down + 4, LE).fma(w8, r);
            // masked adds, not a multiply by the 0/1 mask: an infinite value in the neighbouring row must not
            // turn the cleared lanes into NaN
            FloatVector acc = c.add(l, FloatVector.fromArray(S, left, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(r, FloatVector.fromArray(S, right, i).compare(VectorOperators.NE, 0f));
            acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
            acc.blend(hiv, acc.compare(VectorOperators.GT, hiv)).intoMemorySegment(out, ob + 4L * i, LE);
        }
    }

    /**
     * One plane at stride 2: {@code out[oo..] = act(conv(in[io..]) + bias)}, offsets in floats, the input h × w (both
     * even), the output (h/2) × (w/2). The input is split once into its four phases (even or odd row, even or odd
     * column), each an output-sized plane; then every tap of output {@code i} is phase plane value {@code i},
     * {@code i − 1}, {@code i − ow} or {@code i − ow − 1}, and the output runs flat as at stride 1. Only the
     * left taps need a column mask (the rows above the first read the zero margin before each phase plane).
     */
    static void planeStride2(MemorySegment in, long io, int h, int w, MemorySegment out, long oo, float[] k,
                             int kOff, float bias, Layer layer, Work work) {
        int oh = h / 2, ow = w / 2, n = oh * ow;
        int vecs = (n + VL - 1) / VL;
        int m = margin(ow);
        int ps = m + vecs * VL + 2 * VL;          // a phase plane, its zero margin before it, room for row spill
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] buf = splitWithMargins(in, io, h, w, m, ps, work), res = work.out;
        boolean clamp = layer.clamp;
        float lo = layer.lo, hi = layer.hi;
        runStride2(buf, m, ps, ow, vecs, layer.left, k, kOff, bias, lo, hi, res);
        if (!clamp) {
            layer.act.applyInPlace(res, 0, n);
        }
        MemorySegment.copy(res, 0, out, FL, oo * 4, n);
    }

    /**
     * The h × w plane (both even) at {@code in[io..]} split into its four phase planes in {@code work.in}: phase
     * plane j (2 × row phase + column phase, each (h/2)·(w/2) values) at {@code m + j·ps}, zeros before the first
     * and between the planes (from each plane's end to the next one's start).
     */
    private static float[] splitWithMargins(MemorySegment in, long io, int h, int w, int m, int ps, Work work) {
        int ow = w / 2, n = (h / 2) * ow;
        work.src = Work.atLeast(work.src, h * w + 2 * VL);
        work.in = Work.atLeast(work.in, m + 4 * ps);
        float[] src = work.src, buf = work.in;
        // Each input row's even and odd columns go to its phase planes (two-vector permutes; the last pair may read
        // past the row and write past the phase row, overwritten by that phase's next row or cleared below). Rows
        // whose last pair stays inside the plane are split in place, the rest from a copy.
        int direct = Math.max(0, Math.min(h, Math.floorDiv(h * w - roundUp(w, 2 * VL), w) + 1));
        for (int y = 0; y < direct; y++) {
            int phase = m + (y & 1) * 2 * ps + (y >> 1) * ow;
            Simd.splitEvenOdd(in, (io + (long) y * w) * 4, roundUp(w, 2 * VL), buf, phase, buf, phase + ps);
        }
        if (direct < h) {
            MemorySegment.copy(in, FL, (io + (long) direct * w) * 4, src, 0, (h - direct) * w);
            for (int y = direct; y < h; y++) {
                int phase = m + (y & 1) * 2 * ps + (y >> 1) * ow;
                Simd.splitEvenOdd(src, (y - direct) * w, roundUp(w, 2 * VL), buf, phase, buf, phase + ps);
            }
        }
        java.util.Arrays.fill(buf, 0, m, 0f);
        for (int j = 0; j < 4; j++) {             // what the last rows spilled, and the next plane's margin
            java.util.Arrays.fill(buf, m + j * ps + n, m + (j + 1) * ps, 0f);
        }
        return buf;
    }

    /**
     * Whether {@link #plane5Stride2} computes convolutions with these parameters (5×5, stride 2, dilation 1, pads of
     * 2) over an h × w input: both even, so the output is exactly (h/2) × (w/2).
     */
    static boolean supports5Stride2(ConvParams p, int h, int w) {
        return p.kernelH() == 5 && p.kernelW() == 5 && p.dilationH() == 1 && p.dilationW() == 1
                && p.strideH() == 2 && p.strideW() == 2 && p.padTop() == 2 && p.padLeft() == 2
                && p.padBottom() == 2 && p.padRight() == 2 && h % 2 == 0 && w % 2 == 0 && h > 0 && w > 0;
    }

    /**
     * One 5×5 plane at stride 2 with pads of 2, the input h × w (both even) split into its four phase planes with
     * zero margins as {@link #planeStride2} does: every tap is then phase-plane value {@code i + dr·ow + dc} with
     * dr, dc in {−1, 0, 1}, so the output runs flat, the taps one column left and right masked.
     *
     * <p>Why: the padded row kernel ran EfficientNet-B0's 144 channels of 56×56 at 9 GFLOP/s on one core (625 µs
     * with SiLU).
     */
    static void plane5Stride2(MemorySegment in, long io, int h, int w, MemorySegment out, long oo, float[] k,
                              int kOff, float bias, Layer layer, Work work) {
        int oh = h / 2, ow = w / 2, n = oh * ow;
        int vecs = (n + VL - 1) / VL;
        int m = margin(ow);
        int ps = m + vecs * VL + 2 * VL;
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] buf = splitWithMargins(in, io, h, w, m, ps, work);
        finish5Stride2(buf, m, ps, n, ow, vecs, layer, k, kOff, bias, out, oo, work.out);
    }

    /**
     * {@link #plane5Stride2} from four phase planes in phase order ({@link #splitPhases}) at {@code in[io..]}, copied
     * between zero margins (a copy, not a split: the fused expansion computed them already split).
     */
    static void planePhases5(MemorySegment in, long io, int oh, int ow, MemorySegment out, long oo, float[] k,
                             int kOff, float bias, Layer layer, Work work) {
        int n = oh * ow;
        int vecs = (n + VL - 1) / VL;
        int m = margin(ow);
        int ps = m + vecs * VL + 2 * VL;
        work.in = Work.atLeast(work.in, m + 4 * ps);
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] buf = work.in;
        java.util.Arrays.fill(buf, 0, m, 0f);
        for (int j = 0; j < 4; j++) {
            MemorySegment.copy(in, FL, (io + (long) j * n) * 4, buf, m + j * ps, n);
            java.util.Arrays.fill(buf, m + j * ps + n, m + (j + 1) * ps, 0f);
        }
        finish5Stride2(buf, m, ps, n, ow, vecs, layer, k, kOff, bias, out, oo, work.out);
    }

    private static void finish5Stride2(float[] buf, int m, int ps, int n, int ow, int vecs, Layer layer, float[] k,
                                       int kOff, float bias, MemorySegment out, long oo, float[] res) {
        boolean inRegisters = layer.clamp || layer.silu;
        int whole = inRegisters ? n / VL : 0;     // vectors stored straight into the output
        run5Stride2(buf, m, ps, ow, vecs, whole, layer, k, kOff, bias, out, oo * 4, res);
        if (whole < vecs) {
            if (!inRegisters) {
                layer.act.applyInPlace(res, 0, n);
            }
            MemorySegment.copy(res, whole * VL, out, FL, (oo + whole * VL) * 4, n - whole * VL);
        }
    }

    /**
     * Vectors {@code [0, vecs)} of a 5×5 stride-2 output from the phase planes at {@code buf[m + j·ps..]} (ow wide,
     * zero margins): tap (dy, dx) of output i is phase plane (dy mod 2, dx mod 2)'s value at
     * {@code i + (⌊dy/2⌋)·ow + ⌊dx/2⌋} for dy, dx in −2..2. Clamped, or SiLU applied in registers; the first
     * {@code whole} stored into {@code out} at byte offset {@code ob}, the rest into {@code res}.
     */
    static void run5Stride2(float[] buf, int m, int ps, int ow, int vecs, int whole, Layer layer, float[] k,
                            int kOff, float bias, MemorySegment out, long ob, float[] res) {
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, layer.lo), hiv = FloatVector.broadcast(S, layer.hi);
        float[] left = layer.left, right = layer.right;
        boolean silu = layer.silu;
        for (int i = 0; i < vecs * VL; i += VL) {
            // taps by column: one phase column left (dx = -2, -1), this one (dx = 0, 1), one right (dx = 2)
            FloatVector c = b, l = FloatVector.zero(S), r = l;
            for (int dy = 0; dy < 5; dy++) {
                int e = m + 2 * (dy & 1) * ps + i + ((dy >> 1) - 1) * ow, o = e + ps, t = kOff + 5 * dy;
                l = FloatVector.fromArray(S, buf, e - 1).fma(FloatVector.broadcast(S, k[t]), l);
                l = FloatVector.fromArray(S, buf, o - 1).fma(FloatVector.broadcast(S, k[t + 1]), l);
                c = FloatVector.fromArray(S, buf, e).fma(FloatVector.broadcast(S, k[t + 2]), c);
                c = FloatVector.fromArray(S, buf, o).fma(FloatVector.broadcast(S, k[t + 3]), c);
                r = FloatVector.fromArray(S, buf, e + 1).fma(FloatVector.broadcast(S, k[t + 4]), r);
            }
            // masked adds, not multiplies by the 0/1 masks: a non-finite value in a neighbouring row must not make NaN
            FloatVector acc = c.add(l, FloatVector.fromArray(S, left, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(r, FloatVector.fromArray(S, right, i).compare(VectorOperators.NE, 0f));
            if (silu) {
                acc = acc.mul(acc.broadcast(1f).div(acc.neg().lanewise(VectorOperators.EXP).add(1f)));
            } else {
                acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
                acc = acc.blend(hiv, acc.compare(VectorOperators.GT, hiv));
            }
            if (i < whole * VL) {
                acc.intoMemorySegment(out, ob + 4L * i, LE);
            } else {
                acc.intoArray(res, i);
            }
        }
    }

    /**
     * One 5×5 plane at stride 1 with pads of 2: {@code out[oo..] = act(conv(in[io..]) + bias)}, offsets in floats,
     * the plane h × w in and out, {@code k[kOff..kOff+25)} its weights (row-major). As {@link #plane}: the plane is
     * copied between zero margins of more than two rows; each output vector sums its five columns of taps apart,
     * and adds the columns one and two to the left (right) only in the lanes at least that far from the plane's
     * left (right) edge, by masked adds.
     *
     * <p>Why: the row and channel kernels ran EfficientNet-B0's 5×5 layers at 14–17 GFLOP/s on one core (240
     * channels of 28×28: 683 µs; 672 of 14×14: 378 µs), a tenth of the FMA peak.
     */
    static void plane5(MemorySegment in, long io, int h, int w, MemorySegment out, long oo, float[] k, int kOff,
                       float bias, Layer layer, Work work) {
        int n = h * w;
        int vecs = ((n + VL - 1) / VL + 1) & ~1;  // an even count: two vectors per step
        int m = margin5(w);
        int end = m + vecs * VL + 2 * w + 2;
        work.in = Work.atLeast(work.in, end);
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] buf = work.in, res = work.out;
        boolean inRegisters = layer.clamp || layer.silu;
        int whole = inRegisters ? n / (2 * VL) * 2 : 0; // vectors stored straight into the output, in pairs
        java.util.Arrays.fill(buf, 0, m, 0f);
        MemorySegment.copy(in, FL, io * 4, buf, m, n);
        java.util.Arrays.fill(buf, m + n, end, 0f);
        run5(buf, m, w, vecs, whole, layer, k, kOff, bias, out, oo * 4, res);
        if (whole < vecs) {
            if (!inRegisters) {
                layer.act.applyInPlace(res, 0, n);
            }
            MemorySegment.copy(res, whole * VL, out, FL, (oo + whole * VL) * 4, n - whole * VL);
        }
    }

    /** Floats of zeros before a 5×5 plane: at least two rows and two more values, rounded to whole vectors. */
    private static int margin5(int w) {
        return (2 * w + 2 + VL - 1) / VL * VL;
    }

    /**
     * Vectors {@code [0, vecs)} of a 5×5 stride-1 output from the plane at {@code buf[m..]} (w wide, zero margins),
     * clamped to the layer's bounds, or with SiLU applied when the layer's activation is SiLU (a separate pass
     * over the plane cost as much as the convolution): the first {@code whole} stored into {@code out} at byte
     * offset {@code ob}, the rest into {@code res}. Two vectors per step, sharing each weight's broadcast;
     * {@code vecs} is even (the buffers hold the extra vector an odd count rounds up to).
     */
    static void run5(float[] buf, int m, int w, int vecs, int whole, Layer layer, float[] k, int kOff, float bias,
                     MemorySegment out, long ob, float[] res) {
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, layer.lo), hiv = FloatVector.broadcast(S, layer.hi);
        float[] l1m = layer.left, l2m = layer.left2, r1m = layer.right, r2m = layer.right2;
        boolean silu = layer.silu;
        for (int i = 0, at = m; i < vecs * VL; i += 2 * VL, at += 2 * VL) {
            // five column sums per vector (dx = 0 with the bias, -1, -2, +1, +2), each over the five rows
            FloatVector c = b, cc = b, l1 = FloatVector.zero(S), ll1 = l1, l2 = l1, ll2 = l1, p1 = l1, pp1 = l1;
            FloatVector p2 = l1, pp2 = l1;
            for (int dy = 0, row = at - 2 * w; dy < 5; dy++, row += w) {
                int t = kOff + 5 * dy;
                FloatVector wv = FloatVector.broadcast(S, k[t + 2]);
                c = FloatVector.fromArray(S, buf, row).fma(wv, c);
                cc = FloatVector.fromArray(S, buf, row + VL).fma(wv, cc);
                wv = FloatVector.broadcast(S, k[t + 1]);
                l1 = FloatVector.fromArray(S, buf, row - 1).fma(wv, l1);
                ll1 = FloatVector.fromArray(S, buf, row - 1 + VL).fma(wv, ll1);
                wv = FloatVector.broadcast(S, k[t]);
                l2 = FloatVector.fromArray(S, buf, row - 2).fma(wv, l2);
                ll2 = FloatVector.fromArray(S, buf, row - 2 + VL).fma(wv, ll2);
                wv = FloatVector.broadcast(S, k[t + 3]);
                p1 = FloatVector.fromArray(S, buf, row + 1).fma(wv, p1);
                pp1 = FloatVector.fromArray(S, buf, row + 1 + VL).fma(wv, pp1);
                wv = FloatVector.broadcast(S, k[t + 4]);
                p2 = FloatVector.fromArray(S, buf, row + 2).fma(wv, p2);
                pp2 = FloatVector.fromArray(S, buf, row + 2 + VL).fma(wv, pp2);
            }
            // masked adds, not multiplies by the 0/1 masks: a non-finite value in a neighbouring row must not make NaN
            int j = i + VL;
            FloatVector acc = c.add(l1, FloatVector.fromArray(S, l1m, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(l2, FloatVector.fromArray(S, l2m, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(p1, FloatVector.fromArray(S, r1m, i).compare(VectorOperators.NE, 0f));
            acc = acc.add(p2, FloatVector.fromArray(S, r2m, i).compare(VectorOperators.NE, 0f));
            FloatVector acc2 = cc.add(ll1, FloatVector.fromArray(S, l1m, j).compare(VectorOperators.NE, 0f));
            acc2 = acc2.add(ll2, FloatVector.fromArray(S, l2m, j).compare(VectorOperators.NE, 0f));
            acc2 = acc2.add(pp1, FloatVector.fromArray(S, r1m, j).compare(VectorOperators.NE, 0f));
            acc2 = acc2.add(pp2, FloatVector.fromArray(S, r2m, j).compare(VectorOperators.NE, 0f));
            if (silu) {
                acc = acc.mul(acc.broadcast(1f).div(acc.neg().lanewise(VectorOperators.EXP).add(1f)));
                acc2 = acc2.mul(acc2.broadcast(1f).div(acc2.neg().lanewise(VectorOperators.EXP).add(1f)));
            } else {
                acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
                acc = acc.blend(hiv, acc.compare(VectorOperators.GT, hiv));
                acc2 = acc2.blend(lov, acc2.compare(VectorOperators.LT, lov));
                acc2 = acc2.blend(hiv, acc2.compare(VectorOperators.GT, hiv));
            }
            if (j < whole * VL) {
                acc.intoMemorySegment(out, ob + 4L * i, LE);
                acc2.intoMemorySegment(out, ob + 4L * j, LE);
            } else {
                acc.intoArray(res, i);
                acc2.intoArray(res, j);
            }
        }
    }

    /** Floats a buffer of planes in phase order must have after its last plane: the last vector's loads overrun. */
    static final int PHASES_SLACK = VL;

    /**
     * Splits one h × w plane (both even) at {@code in[io..]} into its four phase planes at {@code dst[d..]}, each
     * (h/2) × (w/2), one after the other: even rows' even columns, even rows' odd columns, odd rows' even columns, odd
     * rows' odd columns (offsets in floats). Writes nothing outside the 4 · (h/2) · (w/2) = h · w values.
     */
    static void splitPhases(MemorySegment in, long io, int h, int w, MemorySegment dst, long d) {
        int oh = h / 2, ow = w / 2, n = oh * ow;
        FloatVector even = FloatVector.fromArray(S, Simd.EVEN_LANES, 0);
        FloatVector odd = FloatVector.fromArray(S, Simd.ODD_LANES, 0);
        int vecEnd = w / (2 * VL) * (2 * VL);
        for (int y = 0; y < h; y++) {
            long src = (io + (long) y * w) * 4;
            long e = (d + (long) (y & 1) * 2 * n + (long) (y >> 1) * ow) * 4, o = e + 4L * n;
            for (int x = 0; x < vecEnd; x += 2 * VL) {
                FloatVector a = FloatVector.fromMemorySegment(S, in, src + 4L * x, LE);
                FloatVector b = FloatVector.fromMemorySegment(S, in, src + 4L * (x + VL), LE);
                even.selectFrom(a, b).intoMemorySegment(dst, e + 2L * x, LE);
                odd.selectFrom(a, b).intoMemorySegment(dst, o + 2L * x, LE);
            }
            if (vecEnd < w) {
                // the last columns (fewer than two vectors): masked loads and stores, nothing past the row touched
                VectorMask<Float> first = S.indexInRange(vecEnd, w), second = S.indexInRange(vecEnd + VL, w);
                VectorMask<Float> half = S.indexInRange(0, (w - vecEnd) / 2);
                FloatVector a = FloatVector.fromMemorySegment(S, in, src + 4L * vecEnd, LE, first);
                FloatVector b = FloatVector.fromMemorySegment(S, in, src + 4L * (vecEnd + VL), LE, second);
                even.selectFrom(a, b).intoMemorySegment(dst, e + 2L * vecEnd, LE, half);
                odd.selectFrom(a, b).intoMemorySegment(dst, o + 2L * vecEnd, LE, half);
            }
        }
    }

    /**
     * One plane at stride 2 from its four phase planes as {@link #splitPhases} lays them out, read in place at
     * {@code in[io..]} (the buffer must hold {@link #PHASES_SLACK} floats after them): {@code out[oo..] =
     * act(conv + bias)}, offsets in floats, the output oh × ow. The same sums as {@link #planeStride2}, without its
     * per-plane split: a 1×1 convolution before this one (a fused expansion) computes straight into phase order when
     * its input is split (16 channels split instead of 96 in MobileNetV2's second block).
     */
    static void planePhases(MemorySegment in, long io, int oh, int ow, MemorySegment out, long oo, float[] k,
                            int kOff, float bias, Layer layer, Work work) {
        int n = oh * ow;
        int vecs = (n + VL - 1) / VL;
        work.out = Work.atLeast(work.out, vecs * VL);
        float[] res = work.out;
        boolean clamp = layer.clamp;
        int whole = clamp ? n / VL : 0;           // vectors stored straight into the output
        runPhases(in, io * 4, n, ow, vecs, whole, layer.left, k, kOff, bias, layer.lo, layer.hi, out, oo * 4, res);
        if (whole < vecs) {
            if (!clamp) {
                layer.act.applyInPlace(res, 0, n);
            }
            MemorySegment.copy(res, whole * VL, out, FL, (oo + whole * VL) * 4, n - whole * VL);
        }
    }

    /**
     * Vectors {@code [0, vecs)} of a stride-2 output from the phase planes at byte offset {@code ib} (each n values,
     * ow wide), clamped to [lo, hi]: the first {@code whole} stored into {@code out} at byte offset {@code ob}, the
     * rest into {@code res} at their index. The taps above the first output row read the previous phase plane's
     * last row and are added only in the lanes below it; the left taps of column 0 are masked as in
     * {@link #runStride2}; both masked adds, so a non-finite value read there cannot make a NaN.
     */
    static void runPhases(MemorySegment in, long ib, int n, int ow, int vecs, int whole, float[] left, float[] k,
                          int kOff, float bias, float lo, float hi, MemorySegment out, long ob, float[] res) {
        FloatVector w0 = FloatVector.broadcast(S, k[kOff]), w1 = FloatVector.broadcast(S, k[kOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, k[kOff + 2]), w3 = FloatVector.broadcast(S, k[kOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, k[kOff + 4]), w5 = FloatVector.broadcast(S, k[kOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, k[kOff + 6]), w7 = FloatVector.broadcast(S, k[kOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, k[kOff + 8]);
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        long p00 = ib, p01 = ib + 4L * n, p10 = p01 + 4L * n, p11 = p10 + 4L * n, row = 4L * ow;
        for (int i = 0; i < vecs * VL; i += VL) {
            long at = 4L * i;
            // this row (even phases), the row below (odd phases, this row), the row above (odd phases, a row up)
            FloatVector c = FloatVector.fromMemorySegment(S, in, p00 + at, LE).fma(w4, b);
            c = FloatVector.fromMemorySegment(S, in, p01 + at, LE).fma(w5, c);
            c = FloatVector.fromMemorySegment(S, in, p10 + at, LE).fma(w7, c);
            c = FloatVector.fromMemorySegment(S, in, p11 + at, LE).fma(w8, c);
            FloatVector l = FloatVector.fromMemorySegment(S, in, p01 + at - 4, LE).mul(w3);
            l = FloatVector.fromMemorySegment(S, in, p11 + at - 4, LE).fma(w6, l);
            FloatVector u = FloatVector.fromMemorySegment(S, in, p10 + at - row, LE).mul(w1);
            u = FloatVector.fromMemorySegment(S, in, p11 + at - row, LE).fma(w2, u);
            FloatVector ul = FloatVector.fromMemorySegment(S, in, p11 + at - row - 4, LE).mul(w0);
            if (i >= ow) {
                c = c.add(u);
                l = l.add(ul);
            } else {
                VectorMask<Float> below = S.indexInRange(i, ow).not();
                c = c.add(u, below);
                l = l.add(ul, below);
            }
            FloatVector acc = c.add(l, FloatVector.fromArray(S, left, i).compare(VectorOperators.NE, 0f));
            acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
            acc = acc.blend(hiv, acc.compare(VectorOperators.GT, hiv));
            if (i < whole * VL) {
                acc.intoMemorySegment(out, ob + at, LE);
            } else {
                acc.intoArray(res, i);
            }
        }
    }

    private static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }

    /**
     * {@code res[0..vecs·VL)} = the stride-2 outputs, clamped to [lo, hi], from the four phase planes at
     * {@code buf[m + j·ps..]} (j = 2·row phase + column phase), each ow wide.
     */
    static void runStride2(float[] buf, int m, int ps, int ow, int vecs, float[] left, float[] k, int kOff,
                           float bias, float lo, float hi, float[] res) {
        FloatVector w0 = FloatVector.broadcast(S, k[kOff]), w1 = FloatVector.broadcast(S, k[kOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, k[kOff + 2]), w3 = FloatVector.broadcast(S, k[kOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, k[kOff + 4]), w5 = FloatVector.broadcast(S, k[kOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, k[kOff + 6]), w7 = FloatVector.broadcast(S, k[kOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, k[kOff + 8]);
        FloatVector b = FloatVector.broadcast(S, bias);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        int p00 = m, p01 = m + ps, p10 = m + 2 * ps, p11 = m + 3 * ps;
        for (int i = 0; i < vecs * VL; i += VL) {
            // row above (odd phase, one row up), this row (even phase), row below (odd phase, this row)
            FloatVector c = FloatVector.fromArray(S, buf, p10 + i - ow).fma(w1, b);
            c = FloatVector.fromArray(S, buf, p11 + i - ow).fma(w2, c);
            c = FloatVector.fromArray(S, buf, p00 + i).fma(w4, c);
            c = FloatVector.fromArray(S, buf, p01 + i).fma(w5, c);
            c = FloatVector.fromArray(S, buf, p10 + i).fma(w7, c);
            c = FloatVector.fromArray(S, buf, p11 + i).fma(w8, c);
            FloatVector l = FloatVector.fromArray(S, buf, p11 + i - ow - 1).mul(w0);
            l = FloatVector.fromArray(S, buf, p01 + i - 1).fma(w3, l);
            l = FloatVector.fromArray(S, buf, p11 + i - 1).fma(w6, l);
            FloatVector acc = c.add(l, FloatVector.fromArray(S, left, i).compare(VectorOperators.NE, 0f));
            acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
            acc.blend(hiv, acc.compare(VectorOperators.GT, hiv)).intoArray(res, i);
        }
    }
}
