package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Depthwise convolution of small planes with the vector across channels: a block of {@link #VL} channels is
 * copied into a zero-padded, channel-interleaved buffer (pixel-major, one vector per pixel), every output pixel of
 * all the block's channels is one vector accumulating {@code kh·kw} multiply-adds with per-channel weight vectors,
 * and the block is copied back to the planes.
 *
 * <p>Why: a 7×7 or 14×14 plane is one or two vectors wide, so vectorising along a row (the plane kernels) leaves
 * most lanes and most of the time to per-plane overhead; EfficientNet-B0 spent half its time in such layers at
 * 2–4 GFLOP/s. Across channels every lane is used whatever the plane size. Any kernel size, stride, padding and
 * dilation; the output is written (beta 0).
 *
 * <p>Immutable; {@link #block} may run on many threads at once, each with its own {@link Work}.
 */
final class DepthwiseChannels {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    static final int VL = Simd.F;

    private final ConvParams p;
    private final int channels;
    private final int taps;
    private final float[] weights;   // [block][tap][VL], zero past the last channel
    private final float[] bias;      // [block][VL]
    private final Activation act;

    /** Bytes of this kernel's own copy of the weights and bias. */
    long weightBytes() {
        return 4L * (weights.length + bias.length);
    }

    DepthwiseChannels(ConvParams p, int channels, float[] dwWeights, float[] bias, Activation act) {
        this.p = p;
        this.channels = channels;
        this.taps = p.kernelH() * p.kernelW();
        this.act = act;
        int blocks = blocks();
        this.weights = new float[blocks * taps * VL];
        this.bias = new float[blocks * VL];
        for (int c = 0; c < channels; c++) {
            int blk = c / VL, j = c % VL;
            for (int t = 0; t < taps; t++) {
                weights[(blk * taps + t) * VL + j] = dwWeights[c * taps + t];
            }
            this.bias[blk * VL + j] = bias == null ? 0f : bias[c];
        }
    }

    /**
     * Block calls before the transposes switch from scalar loops to gathers. Why: until C2 compiles them, Vector
     * API gathers run in the interpreter at microseconds each, and the first run of MobileNetV2 took 1 s longer
     * with gathers from the start (3.7–4.0 s instead of 2.3–2.5 s); scalar loops cost little there. Once compiled,
     * the gathers make these layers about twice as fast. A hint only: the count is not synchronised.
     */
    private static final int SCALAR_CALLS = 3000;
    /** Gather offsets of VL consecutive pixels of one channel in the pixel-major buffer. */
    private static final int[] GATHER_OUT = new int[VL];

    static {
        for (int j = 0; j < VL; j++) {
            GATHER_OUT[j] = j * VL;
        }
    }

    private static int calls;
    /** {@code -Dtandem.dw.transpose=false}: the gathers for whole blocks too (for measurements). */
    private static final boolean TRANSPOSE = !"false".equals(System.getProperty("tandem.dw.transpose"));

    private static boolean warm() {
        if (calls >= SCALAR_CALLS) {
            return true;
        }
        calls++;
        return false;
    }

    /** Tests: take the warm path from the next call on ({@code true}) or the start-up path again. */
    static void setWarm(boolean warm) {
        calls = warm ? SCALAR_CALLS : 0;
    }

    /** Blocks of {@link #VL} channels (the last one may be partial). */
    int blocks() {
        return (channels + VL - 1) / VL;
    }

    /** Per-thread buffers. */
    static final class Work {
        float[] in = new float[0];
        float[] out = new float[0];
        float[] plane = new float[0];

        private int[] gin = new int[0];
        private int ginPlane = -1, ginChannels = -1;

        /** Gather offsets of one pixel across the block: lane j reads plane j (channel 0 past {@code cn}). */
        int[] gatherIn(int plane, int cn) {
            if (plane != ginPlane || cn != ginChannels) {
                gin = new int[VL];
                for (int j = 0; j < VL; j++) {
                    gin[j] = j < cn ? j * plane : 0;
                }
                ginPlane = plane;
                ginChannels = cn;
            }
            return gin;
        }

        private int[] tin = new int[0], tout = new int[0];
        private int tinH = -1, tinW, tinWp, tinPt, tinPl, toutN = -1;

        /** Where {@link Transpose#channelsLast} puts input pixel {@code y·w + x}: its place in the padded region. */
        int[] transposeIn(int h, int w, int wp, int pt, int pl) {
            if (h != tinH || w != tinW || wp != tinWp || pt != tinPt || pl != tinPl) {
                tin = new int[h * w];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        tin[y * w + x] = ((y + pt) * wp + x + pl) * VL;
                    }
                }
                tinH = h;
                tinW = w;
                tinWp = wp;
                tinPt = pt;
                tinPl = pl;
            }
            return tin;
        }

        /** Where the transpose back puts channel j of a pixel: plane j of {@code n} pixels. */
        int[] transposeOut(int n) {
            if (n != toutN) {
                tout = new int[VL];
                for (int j = 0; j < VL; j++) {
                    tout[j] = j * n;
                }
                toutN = n;
            }
            return tout;
        }

        private static float[] grow(float[] a, int size) {
            return a.length >= size ? a : new float[size];
        }
    }

    /**
     * Channels {@code [blk·VL, blk·VL + VL)} of one image: input planes h×w from element {@code io} (the image's
     * first channel; 8-bit when {@code inFmt} is not null), output planes oh×ow from element {@code oo} (8-bit when
     * {@code q} is not null).
     */
    void block(MemorySegment in, long io, Int8Format inFmt, int h, int w, MemorySegment out, long oo, Requantization q,
               int oh, int ow, int blk, Work wk) {
        int kh = p.kernelH(), kw = p.kernelW(), sh = p.strideH(), sw = p.strideW();
        int dh = p.dilationH(), dw = p.dilationW();
        int pt = p.padTop(), pl = p.padLeft();
        // the padded region the taps read: rows [−pt, −pt + hp), columns [−pl, −pl + wp)
        int hp = (oh - 1) * sh + (kh - 1) * dh + 1, wp = (ow - 1) * sw + (kw - 1) * dw + 1;
        int c0 = blk * VL, cn = Math.min(VL, channels - c0);
        float[] pin = wk.in = Work.grow(wk.in, hp * wp * VL);
        float[] pout = wk.out = Work.grow(wk.out, oh * ow * VL);
        int hw = h * w, n = oh * ow;
        float[] stage = wk.plane = Work.grow(wk.plane, VL * Math.max(hw, n));
        java.util.Arrays.fill(pin, 0, hp * wp * VL, 0f);
        // input pixel (y, x) sits at (y + pt, x + pl) of the padded region; rows and columns past its end are never read
        int y1 = Math.min(h, hp - pt), x1 = Math.min(w, wp - pl);
        boolean gather = warm();
        // A whole block of float channels: register transposes of 16 × 16 (8 × 8) blocks straight from the planes
        // (Transpose; the 14×14 and 7×7 layers of MobileNetV2 10–20% faster than with gathers). Otherwise the
        // block's planes, which are contiguous, are copied once and gathered pixel by pixel (lane j from plane j;
        // the lanes of a partial block's missing channels read channel 0 and are never written back).
        boolean transpose = gather && TRANSPOSE && inFmt == null && cn == VL && y1 == h && x1 == w;
        if (transpose) {
            Transpose.channelsLast(in, io + (long) c0 * hw, VL, hw, wk.transposeIn(h, w, wp, pt, pl), pin);
        } else {
            Int8Io.read(in, io + (long) c0 * hw, inFmt, stage, 0, cn * hw);
            if (gather) {
                int[] gin = wk.gatherIn(hw, cn);
                for (int y = 0; y < y1; y++) {
                    int d = ((y + pt) * wp + pl) * VL, src = y * w;
                    for (int x = 0; x < x1; x++, d += VL) {
                        FloatVector.fromArray(S, stage, src + x, gin, 0).intoArray(pin, d);
                    }
                }
            } else {
                for (int j = 0; j < cn; j++) {
                    for (int y = 0; y < y1; y++) {
                        int d = ((y + pt) * wp + pl) * VL + j, src = j * hw + y * w;
                        for (int x = 0; x < x1; x++, d += VL) {
                            pin[d] = stage[src + x];
                        }
                    }
                }
            }
        }
        int wb = blk * taps * VL;
        FloatVector b = FloatVector.fromArray(S, bias, blk * VL);
        // a clamp activation (ReLU, ReLU6, Clip; none is the clamp to ±∞) in the registers before the stores, not
        // as a pass over the block afterwards (7% of the kernel's time); 8-bit outputs are clamped when requantized
        boolean clampHere = q == null && act.isClamp();
        FloatVector lov = FloatVector.broadcast(S, clampHere ? act.clampLow() : Float.NEGATIVE_INFINITY);
        FloatVector hiv = FloatVector.broadcast(S, clampHere ? act.clampHigh() : Float.POSITIVE_INFINITY);
        int step = sw * VL, dstep = dw * VL;
        boolean three = THREE && kh == 3 && kw == 3 && dh == 1 && dw == 1 && sh == sw && (sh == 1 || sh == 2);
        if (three) {
            float lo = clampHere ? act.clampLow() : Float.NEGATIVE_INFINITY;
            float hi = clampHere ? act.clampHigh() : Float.POSITIVE_INFINITY;
            for (int oy = 0; oy < oh; oy++) {
                int r0 = oy * sh * wp * VL, o = oy * ow * VL;
                if (sh == 1) {
                    row3s1(pin, r0, wp * VL, ow, weights, wb, bias, blk * VL, lo, hi, pout, o);
                } else {
                    row3s2(pin, r0, wp * VL, ow, weights, wb, bias, blk * VL, lo, hi, pout, o);
                }
            }
        }
        // any other kernel: the general loop (none of its rows when the 3×3 rows above took them all)
        for (int oy = three ? oh : 0; oy < oh; oy++) {
            int ox = 0;
            // four output pixels at a time: four independent chains share each weight load
            for (; ox + 4 <= ow; ox += 4) {
                FloatVector a0 = b, a1 = b, a2 = b, a3 = b;
                int t = wb;
                for (int ky = 0; ky < kh; ky++) {
                    int at = ((oy * sh + ky * dh) * wp + ox * sw) * VL;
                    for (int kx = 0; kx < kw; kx++, t += VL, at += dstep) {
                        FloatVector wv = FloatVector.fromArray(S, weights, t);
                        a0 = FloatVector.fromArray(S, pin, at).fma(wv, a0);
                        a1 = FloatVector.fromArray(S, pin, at + step).fma(wv, a1);
                        a2 = FloatVector.fromArray(S, pin, at + 2 * step).fma(wv, a2);
                        a3 = FloatVector.fromArray(S, pin, at + 3 * step).fma(wv, a3);
                    }
                }
                int o = (oy * ow + ox) * VL;
                a0 = a0.blend(lov, a0.compare(VectorOperators.LT, lov));
                a1 = a1.blend(lov, a1.compare(VectorOperators.LT, lov));
                a2 = a2.blend(lov, a2.compare(VectorOperators.LT, lov));
                a3 = a3.blend(lov, a3.compare(VectorOperators.LT, lov));
                a0.blend(hiv, a0.compare(VectorOperators.GT, hiv)).intoArray(pout, o);
                a1.blend(hiv, a1.compare(VectorOperators.GT, hiv)).intoArray(pout, o + VL);
                a2.blend(hiv, a2.compare(VectorOperators.GT, hiv)).intoArray(pout, o + 2 * VL);
                a3.blend(hiv, a3.compare(VectorOperators.GT, hiv)).intoArray(pout, o + 3 * VL);
            }
            for (; ox < ow; ox++) {
                FloatVector acc = b;
                int t = wb;
                for (int ky = 0; ky < kh; ky++) {
                    int at = ((oy * sh + ky * dh) * wp + ox * sw) * VL;
                    for (int kx = 0; kx < kw; kx++, t += VL, at += dstep) {
                        acc = FloatVector.fromArray(S, pin, at).fma(FloatVector.fromArray(S, weights, t), acc);
                    }
                }
                acc = acc.blend(lov, acc.compare(VectorOperators.LT, lov));
                acc.blend(hiv, acc.compare(VectorOperators.GT, hiv)).intoArray(pout, (oy * ow + ox) * VL);
            }
        }
        if (q == null && !clampHere) {
            act.applyInPlace(pout, 0, oh * ow * VL);
        }
        // back to planes: the same transposes (pixel-major rows as the "planes"), or for each channel a gather of VL
        // pixels at a time
        if (transpose) {
            Transpose.channelsLast(MemorySegment.ofArray(pout), 0, n, VL, wk.transposeOut(n), stage);
        }
        int nv = gather ? n / VL * VL : 0;
        for (int j = transpose ? cn : 0; j < cn; j++) {
            int d = j * n, i = 0;
            for (; i < nv; i += VL) {
                FloatVector.fromArray(S, pout, i * VL + j, GATHER_OUT, 0).intoArray(stage, d + i);
            }
            for (; i < n; i++) {
                stage[d + i] = pout[i * VL + j];
            }
        }
        if (q == null) {
            MemorySegment.copy(stage, 0, out, ValueLayout.JAVA_FLOAT_UNALIGNED, (oo + (long) c0 * n) * 4, cn * n);
        } else {
            for (int j = 0; j < cn; j++) {
                Int8Io.write(stage, j * n, q, c0 + j, out, oo + (long) (c0 + j) * n, n);
            }
        }
    }

    /** {@code -Dtandem.dw.three=false}: 3×3 layers through the general loop (for measurements). */
    private static final boolean THREE = !"false".equals(System.getProperty("tandem.dw.three"));

    /**
     * One output row of a 3×3 stride-1 block: four output pixels at a time from six input vectors per kernel row
     * (each loaded once and used by up to three outputs), the nine weight vectors in registers. {@code r0}: the
     * first padded input row's offset in {@code pin}, {@code rs} floats per padded row; {@code o}: the output
     * row's offset in {@code pout}. Clamped to [lo, hi]. Small on purpose (C2 inlines every vector call).
     */
    private static void row3s1(float[] pin, int r0, int rs, int ow, float[] wt, int wb, float[] bias, int bo,
                               float lo, float hi, float[] pout, int o) {
        FloatVector k0 = FloatVector.fromArray(S, wt, wb), k1 = FloatVector.fromArray(S, wt, wb + VL);
        FloatVector k2 = FloatVector.fromArray(S, wt, wb + 2 * VL), k3 = FloatVector.fromArray(S, wt, wb + 3 * VL);
        FloatVector k4 = FloatVector.fromArray(S, wt, wb + 4 * VL), k5 = FloatVector.fromArray(S, wt, wb + 5 * VL);
        FloatVector k6 = FloatVector.fromArray(S, wt, wb + 6 * VL), k7 = FloatVector.fromArray(S, wt, wb + 7 * VL);
        FloatVector k8 = FloatVector.fromArray(S, wt, wb + 8 * VL);
        FloatVector b = FloatVector.fromArray(S, bias, bo);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        int ox = 0;
        for (; ox + 4 <= ow; ox += 4) {
            int c = r0 + ox * VL;
            FloatVector a0 = b, a1 = b, a2 = b, a3 = b;
            FloatVector x0, x1, x2, x3, x4, x5;
            x0 = FloatVector.fromArray(S, pin, c);
            x1 = FloatVector.fromArray(S, pin, c + VL);
            x2 = FloatVector.fromArray(S, pin, c + 2 * VL);
            x3 = FloatVector.fromArray(S, pin, c + 3 * VL);
            a0 = x2.fma(k2, x1.fma(k1, x0.fma(k0, a0)));
            a1 = x1.fma(k0, a1);
            a2 = x2.fma(k0, a2);
            a3 = x3.fma(k0, a3);
            x4 = FloatVector.fromArray(S, pin, c + 4 * VL);
            a1 = x3.fma(k2, x2.fma(k1, a1));
            a2 = x4.fma(k2, x3.fma(k1, a2));
            x5 = FloatVector.fromArray(S, pin, c + 5 * VL);
            a3 = x5.fma(k2, x4.fma(k1, a3));
            x0 = FloatVector.fromArray(S, pin, c + rs);
            x1 = FloatVector.fromArray(S, pin, c + rs + VL);
            x2 = FloatVector.fromArray(S, pin, c + rs + 2 * VL);
            x3 = FloatVector.fromArray(S, pin, c + rs + 3 * VL);
            a0 = x2.fma(k5, x1.fma(k4, x0.fma(k3, a0)));
            a1 = x1.fma(k3, a1);
            a2 = x2.fma(k3, a2);
            a3 = x3.fma(k3, a3);
            x4 = FloatVector.fromArray(S, pin, c + rs + 4 * VL);
            a1 = x3.fma(k5, x2.fma(k4, a1));
            a2 = x4.fma(k5, x3.fma(k4, a2));
            x5 = FloatVector.fromArray(S, pin, c + rs + 5 * VL);
            a3 = x5.fma(k5, x4.fma(k4, a3));
            x0 = FloatVector.fromArray(S, pin, c + 2 * rs);
            x1 = FloatVector.fromArray(S, pin, c + 2 * rs + VL);
            x2 = FloatVector.fromArray(S, pin, c + 2 * rs + 2 * VL);
            x3 = FloatVector.fromArray(S, pin, c + 2 * rs + 3 * VL);
            a0 = x2.fma(k8, x1.fma(k7, x0.fma(k6, a0)));
            a1 = x1.fma(k6, a1);
            a2 = x2.fma(k6, a2);
            a3 = x3.fma(k6, a3);
            x4 = FloatVector.fromArray(S, pin, c + 2 * rs + 4 * VL);
            a1 = x3.fma(k8, x2.fma(k7, a1));
            a2 = x4.fma(k8, x3.fma(k7, a2));
            x5 = FloatVector.fromArray(S, pin, c + 2 * rs + 5 * VL);
            a3 = x5.fma(k8, x4.fma(k7, a3));
            int d = o + ox * VL;
            a0 = a0.blend(lov, a0.compare(VectorOperators.LT, lov));
            a1 = a1.blend(lov, a1.compare(VectorOperators.LT, lov));
            a2 = a2.blend(lov, a2.compare(VectorOperators.LT, lov));
            a3 = a3.blend(lov, a3.compare(VectorOperators.LT, lov));
            a0.blend(hiv, a0.compare(VectorOperators.GT, hiv)).intoArray(pout, d);
            a1.blend(hiv, a1.compare(VectorOperators.GT, hiv)).intoArray(pout, d + VL);
            a2.blend(hiv, a2.compare(VectorOperators.GT, hiv)).intoArray(pout, d + 2 * VL);
            a3.blend(hiv, a3.compare(VectorOperators.GT, hiv)).intoArray(pout, d + 3 * VL);
        }
        for (; ox < ow; ox++) {
            pixel3(pin, r0 + ox * VL, rs, wt, wb, bias, bo, lo, hi, pout, o + ox * VL);
        }
    }

    /** {@link #row3s1} at stride 2: four output pixels from nine input vectors per kernel row. */
    private static void row3s2(float[] pin, int r0, int rs, int ow, float[] wt, int wb, float[] bias, int bo,
                               float lo, float hi, float[] pout, int o) {
        FloatVector k0 = FloatVector.fromArray(S, wt, wb), k1 = FloatVector.fromArray(S, wt, wb + VL);
        FloatVector k2 = FloatVector.fromArray(S, wt, wb + 2 * VL), k3 = FloatVector.fromArray(S, wt, wb + 3 * VL);
        FloatVector k4 = FloatVector.fromArray(S, wt, wb + 4 * VL), k5 = FloatVector.fromArray(S, wt, wb + 5 * VL);
        FloatVector k6 = FloatVector.fromArray(S, wt, wb + 6 * VL), k7 = FloatVector.fromArray(S, wt, wb + 7 * VL);
        FloatVector k8 = FloatVector.fromArray(S, wt, wb + 8 * VL);
        FloatVector b = FloatVector.fromArray(S, bias, bo);
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        int ox = 0;
        for (; ox + 4 <= ow; ox += 4) {
            int c = r0 + 2 * ox * VL;
            FloatVector a0 = b, a1 = b, a2 = b, a3 = b;
            FloatVector x0, x1, x2, x3, x4, x5, x6, x7, x8;
            x0 = FloatVector.fromArray(S, pin, c);
            x1 = FloatVector.fromArray(S, pin, c + VL);
            x2 = FloatVector.fromArray(S, pin, c + 2 * VL);
            a0 = x2.fma(k2, x1.fma(k1, x0.fma(k0, a0)));
            a1 = x2.fma(k0, a1);
            x3 = FloatVector.fromArray(S, pin, c + 3 * VL);
            x4 = FloatVector.fromArray(S, pin, c + 4 * VL);
            a1 = x4.fma(k2, x3.fma(k1, a1));
            a2 = x4.fma(k0, a2);
            x5 = FloatVector.fromArray(S, pin, c + 5 * VL);
            x6 = FloatVector.fromArray(S, pin, c + 6 * VL);
            a2 = x6.fma(k2, x5.fma(k1, a2));
            a3 = x6.fma(k0, a3);
            x7 = FloatVector.fromArray(S, pin, c + 7 * VL);
            x8 = FloatVector.fromArray(S, pin, c + 8 * VL);
            a3 = x8.fma(k2, x7.fma(k1, a3));
            x0 = FloatVector.fromArray(S, pin, c + rs);
            x1 = FloatVector.fromArray(S, pin, c + rs + VL);
            x2 = FloatVector.fromArray(S, pin, c + rs + 2 * VL);
            a0 = x2.fma(k5, x1.fma(k4, x0.fma(k3, a0)));
            a1 = x2.fma(k3, a1);
            x3 = FloatVector.fromArray(S, pin, c + rs + 3 * VL);
            x4 = FloatVector.fromArray(S, pin, c + rs + 4 * VL);
            a1 = x4.fma(k5, x3.fma(k4, a1));
            a2 = x4.fma(k3, a2);
            x5 = FloatVector.fromArray(S, pin, c + rs + 5 * VL);
            x6 = FloatVector.fromArray(S, pin, c + rs + 6 * VL);
            a2 = x6.fma(k5, x5.fma(k4, a2));
            a3 = x6.fma(k3, a3);
            x7 = FloatVector.fromArray(S, pin, c + rs + 7 * VL);
            x8 = FloatVector.fromArray(S, pin, c + rs + 8 * VL);
            a3 = x8.fma(k5, x7.fma(k4, a3));
            x0 = FloatVector.fromArray(S, pin, c + 2 * rs);
            x1 = FloatVector.fromArray(S, pin, c + 2 * rs + VL);
            x2 = FloatVector.fromArray(S, pin, c + 2 * rs + 2 * VL);
            a0 = x2.fma(k8, x1.fma(k7, x0.fma(k6, a0)));
            a1 = x2.fma(k6, a1);
            x3 = FloatVector.fromArray(S, pin, c + 2 * rs + 3 * VL);
            x4 = FloatVector.fromArray(S, pin, c + 2 * rs + 4 * VL);
            a1 = x4.fma(k8, x3.fma(k7, a1));
            a2 = x4.fma(k6, a2);
            x5 = FloatVector.fromArray(S, pin, c + 2 * rs + 5 * VL);
            x6 = FloatVector.fromArray(S, pin, c + 2 * rs + 6 * VL);
            a2 = x6.fma(k8, x5.fma(k7, a2));
            a3 = x6.fma(k6, a3);
            x7 = FloatVector.fromArray(S, pin, c + 2 * rs + 7 * VL);
            x8 = FloatVector.fromArray(S, pin, c + 2 * rs + 8 * VL);
            a3 = x8.fma(k8, x7.fma(k7, a3));
            int d = o + ox * VL;
            a0 = a0.blend(lov, a0.compare(VectorOperators.LT, lov));
            a1 = a1.blend(lov, a1.compare(VectorOperators.LT, lov));
            a2 = a2.blend(lov, a2.compare(VectorOperators.LT, lov));
            a3 = a3.blend(lov, a3.compare(VectorOperators.LT, lov));
            a0.blend(hiv, a0.compare(VectorOperators.GT, hiv)).intoArray(pout, d);
            a1.blend(hiv, a1.compare(VectorOperators.GT, hiv)).intoArray(pout, d + VL);
            a2.blend(hiv, a2.compare(VectorOperators.GT, hiv)).intoArray(pout, d + 2 * VL);
            a3.blend(hiv, a3.compare(VectorOperators.GT, hiv)).intoArray(pout, d + 3 * VL);
        }
        for (; ox < ow; ox++) {
            pixel3(pin, r0 + 2 * ox * VL, rs, wt, wb, bias, bo, lo, hi, pout, o + ox * VL);
        }
    }

    /** One output pixel of a 3×3 block (the rows' last pixels): input pixel at {@code c}, rows {@code rs} apart. */
    private static void pixel3(float[] pin, int c, int rs, float[] wt, int wb, float[] bias, int bo, float lo,
                               float hi, float[] pout, int d) {
        FloatVector a = FloatVector.fromArray(S, bias, bo);
        for (int r = 0; r < 3; r++) {
            int at = c + r * rs, t = wb + 3 * r * VL;
            a = FloatVector.fromArray(S, pin, at).fma(FloatVector.fromArray(S, wt, t), a);
            a = FloatVector.fromArray(S, pin, at + VL).fma(FloatVector.fromArray(S, wt, t + VL), a);
            a = FloatVector.fromArray(S, pin, at + 2 * VL).fma(FloatVector.fromArray(S, wt, t + 2 * VL), a);
        }
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        a = a.blend(lov, a.compare(VectorOperators.LT, lov));
        a.blend(hiv, a.compare(VectorOperators.GT, hiv)).intoArray(pout, d);
    }
}
