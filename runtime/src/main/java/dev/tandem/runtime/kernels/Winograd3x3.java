package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3×3, stride-1, undilated, ungrouped convolution by Winograd's minimal filtering F(2×2, 3×3): 16 multiplies
 * per 2×2 output tile and channel pair instead of 36, i.e. 2.25 times fewer.
 *
 * <p>The weights are transformed once ({@code U = G·g·Gᵀ}, sixteen K×C matrices, packed for the GEMM). A run
 * transforms the input ({@code V = Bᵀ·d·B} per channel and 4×4 input tile, sixteen C×T matrices for T tiles),
 * runs sixteen GEMMs {@code M = U·V} (K×T), and transforms back ({@code Y = Aᵀ·M·A}), adding bias and the
 * optional residual and applying the activation. Rounding error is a small multiple of direct convolution's
 * (the transforms only add and halve). Transforms are vectorised across tiles: the padded input is stored with
 * even and odd columns split, so every tile's columns are contiguous runs.
 *
 * <p>Immutable; safe for concurrent runs. Work buffers are per calling thread and grow once.
 */
public final class Winograd3x3 {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ConvParams p;
    private final int inChannels;
    private final int outChannels;
    private final Sgemm.PackedA[] u = new Sgemm.PackedA[16];
    private final float[] bias;
    private final Activation act;
    private final ThreadLocal<Work> work = ThreadLocal.withInitial(Work::new);

    /** Native work buffers: the GEMM's vector loads stay monomorphic on native segments (heap ones are slow). */
    private static final class Work {
        MemorySegment v = MemorySegment.NULL;
        MemorySegment m = MemorySegment.NULL;

        static MemorySegment grow(MemorySegment s, long floats) {
            return s.byteSize() >= floats * 4 ? s : java.lang.foreign.Arena.ofAuto().allocate(floats * 4, 64);
        }
    }

    /** True when {@code p} is a convolution this class computes. */
    public static boolean supports(ConvParams p) {
        return p.kernelH() == 3 && p.kernelW() == 3 && p.strideH() == 1 && p.strideW() == 1
                && p.dilationH() == 1 && p.dilationW() == 1 && p.groups() == 1;
    }

    /**
     * @param weights float32 [K, C, 3, 3]
     * @param bias    K values or null
     */
    public static Winograd3x3 prepare(ConvParams p, int inChannels, Tensor weights, float[] bias, Activation act) {
        if (!supports(p)) {
            throw new IllegalArgumentException("Winograd F(2x2,3x3) needs a 3x3 stride-1 undilated ungrouped conv: "
                    + p);
        }
        if (weights.dtype() != DType.FLOAT32 || weights.rank() != 4 || weights.shape().dim(1) != inChannels
                || weights.shape().dim(2) != 3 || weights.shape().dim(3) != 3) {
            throw new IllegalArgumentException("Winograd weights must be float32 [K, " + inChannels + ", 3, 3]; got "
                    + weights);
        }
        return new Winograd3x3(p, inChannels, weights, bias, act);
    }

    private Winograd3x3(ConvParams p, int c, Tensor weights, float[] bias, Activation act) {
        this.p = p;
        this.inChannels = c;
        this.outChannels = weights.shape().dim(0);
        this.bias = bias == null ? null : bias.clone();
        this.act = act;
        int k = outChannels;
        float[][] ut = new float[16][k * c];
        float[] g = new float[9];
        float[] tmp = new float[12];
        for (int ko = 0; ko < k; ko++) {
            for (int ci = 0; ci < c; ci++) {
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) {
                        g[i * 3 + j] = (float) weights.getDouble(ko, ci, i, j);
                    }
                }
                // tmp = G·g (4×3), G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]
                for (int j = 0; j < 3; j++) {
                    double g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                    tmp[j] = (float) g0;
                    tmp[3 + j] = (float) ((g0 + g1 + g2) * 0.5);
                    tmp[6 + j] = (float) ((g0 - g1 + g2) * 0.5);
                    tmp[9 + j] = (float) g2;
                }
                // U = tmp·Gᵀ (4×4)
                for (int i = 0; i < 4; i++) {
                    double t0 = tmp[i * 3], t1 = tmp[i * 3 + 1], t2 = tmp[i * 3 + 2];
                    ut[i * 4][ko * c + ci] = (float) t0;
                    ut[i * 4 + 1][ko * c + ci] = (float) ((t0 + t1 + t2) * 0.5);
                    ut[i * 4 + 2][ko * c + ci] = (float) ((t0 - t1 + t2) * 0.5);
                    ut[i * 4 + 3][ko * c + ci] = (float) t2;
                }
            }
        }
        for (int xi = 0; xi < 16; xi++) {
            u[xi] = Sgemm.packA(false, k, c, MemorySegment.ofArray(ut[xi]), 0, c);
        }
    }

    public int outChannels() {
        return outChannels;
    }

    /**
     * Runs on contiguous NCHW float32 memory: input [n, C, h, w] at element {@code inOff}, output [n, K, oh, ow]
     * at {@code outOff}; {@code residual} (same shape as the output, may be null) is added before the activation.
     */
    public void forward(ThreadPool pool, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out,
                        long outOff, MemorySegment residual, long resOff) {
        int oh = p.outH(h), ow = p.outW(w);
        if (oh <= 0 || ow <= 0) {
            return;
        }
        int th = (oh + 1) / 2, tw = (ow + 1) / 2;
        int tiles = Math.multiplyExact(Math.multiplyExact(n, th), tw);
        int c = inChannels, k = outChannels;
        Work wk = work.get();
        long vSize = 16L * c * tiles;
        long mSize = 16L * k * tiles;
        if (vSize > Integer.MAX_VALUE || mSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Winograd work buffers too large for " + n + " images of " + h + "x"
                    + w);
        }
        wk.v = Work.grow(wk.v, vSize);
        wk.m = Work.grow(wk.m, mSize);
        MemorySegment v = wk.v, m = wk.m;
        // 1. input transform, one (image, channel) plane per task
        pool.parallelFor(n * c, plane -> inputTransform(in, inOff, plane / c, plane % c, h, w, th, tw, tiles, v));
        // 2. sixteen GEMMs, spread over the threads (each single-threaded)
        pool.parallelFor(16, xi -> SINGLE.get().gemm(u[xi], false, tiles, 1f, v, (long) xi * c * tiles, tiles,
                0f, m, (long) xi * k * tiles, tiles, null, Activation.NONE));
        // 3. output transform, one (image, output channel) plane per task
        pool.parallelFor(n * k, plane -> outputTransform(m, plane / k, plane % k, th, tw, tiles, oh, ow, out,
                outOff, residual, resOff));
    }

    /** A single-threaded GEMM per worker thread: the sixteen products are the parallel unit. */
    private static final ThreadLocal<Sgemm> SINGLE = ThreadLocal.withInitial(() -> new Sgemm(ThreadPool.singleThreaded()));

    private void inputTransform(MemorySegment in, long inOff, int img, int ch, int h, int w, int th, int tw,
                                int tiles, MemorySegment v) {
        int pt = p.padTop(), pl = p.padLeft();
        int rows = 2 * th + 2;
        int half = tw + 1;           // even/odd columns per padded row (2·tw + 2 columns)
        float[] e = new float[rows * half];
        float[] o = new float[rows * half];
        long base = inOff + ((long) img * inChannels + ch) * h * w;
        for (int y = 0; y < rows; y++) {
            int sy = y - pt;
            if (sy < 0 || sy >= h) {
                continue;
            }
            long rowOff = base + (long) sy * w;
            for (int x = 0; x < 2 * half; x++) {
                int sx = x - pl;
                if (sx >= 0 && sx < w) {
                    float val = in.getAtIndex(FL, rowOff + sx);
                    if ((x & 1) == 0) {
                        e[y * half + (x >> 1)] = val;
                    } else {
                        o[y * half + (x >> 1)] = val;
                    }
                }
            }
        }
        int c = inChannels;
        float[] ea = new float[4 * half];
        float[] oa = new float[4 * half];
        for (int i = 0; i < th; i++) {
            rowTransform(e, 2 * i * half, half, ea);
            rowTransform(o, 2 * i * half, half, oa);
            int t0 = (img * th + i) * tw;
            for (int r = 0; r < 4; r++) {
                int rb = r * half;
                long d0 = ((long) (r * 4) * c + ch) * tiles + t0;
                long stride = (long) c * tiles;
                colTransform(ea, oa, rb, tw, v, d0, stride);
            }
        }
    }

    /** Bᵀ along rows: a0 = R0 − R2, a1 = R1 + R2, a2 = R2 − R1, a3 = R1 − R3 for four padded rows at {@code off}. */
    private static void rowTransform(float[] src, int off, int len, float[] dst) {
        int r0 = off, r1 = off + len, r2 = off + 2 * len, r3 = off + 3 * len;
        int j = 0;
        for (; j <= len - VL; j += VL) {
            FloatVector a = FloatVector.fromArray(S, src, r0 + j);
            FloatVector b = FloatVector.fromArray(S, src, r1 + j);
            FloatVector cc = FloatVector.fromArray(S, src, r2 + j);
            FloatVector d = FloatVector.fromArray(S, src, r3 + j);
            a.sub(cc).intoArray(dst, j);
            b.add(cc).intoArray(dst, len + j);
            cc.sub(b).intoArray(dst, 2 * len + j);
            b.sub(d).intoArray(dst, 3 * len + j);
        }
        for (; j < len; j++) {
            float a = src[r0 + j], b = src[r1 + j], cc = src[r2 + j], d = src[r3 + j];
            dst[j] = a - cc;
            dst[len + j] = b + cc;
            dst[2 * len + j] = cc - b;
            dst[3 * len + j] = b - d;
        }
    }

    /** B along columns, for row-result {@code rb}: four V planes, tiles j = 0..tw−1 contiguous. */
    private static void colTransform(float[] e, float[] o, int rb, int tw, MemorySegment v, long d0, long stride) {
        int j = 0;
        long b0 = d0 * 4, b1 = (d0 + stride) * 4, b2 = (d0 + 2 * stride) * 4, b3 = (d0 + 3 * stride) * 4;
        for (; j <= tw - VL; j += VL) {
            FloatVector e0 = FloatVector.fromArray(S, e, rb + j);
            FloatVector e1 = FloatVector.fromArray(S, e, rb + j + 1);
            FloatVector o0 = FloatVector.fromArray(S, o, rb + j);
            FloatVector o1 = FloatVector.fromArray(S, o, rb + j + 1);
            e0.sub(e1).intoMemorySegment(v, b0 + 4L * j, NO);
            o0.add(e1).intoMemorySegment(v, b1 + 4L * j, NO);
            e1.sub(o0).intoMemorySegment(v, b2 + 4L * j, NO);
            o0.sub(o1).intoMemorySegment(v, b3 + 4L * j, NO);
        }
        for (; j < tw; j++) {
            float e0 = e[rb + j], e1 = e[rb + j + 1], o0 = o[rb + j], o1 = o[rb + j + 1];
            v.setAtIndex(FL, d0 + j, e0 - e1);
            v.setAtIndex(FL, d0 + stride + j, o0 + e1);
            v.setAtIndex(FL, d0 + 2 * stride + j, e1 - o0);
            v.setAtIndex(FL, d0 + 3 * stride + j, o0 - o1);
        }
    }

    private static final java.nio.ByteOrder NO = java.nio.ByteOrder.nativeOrder();

    private void outputTransform(MemorySegment m, int img, int ko, int th, int tw, int tiles, int oh, int ow,
                                 MemorySegment out, long outOff, MemorySegment res, long resOff) {
        int k = outChannels;
        long plane = ((long) img * k + ko) * oh * ow;
        float b = bias == null ? 0f : bias[ko];
        float[] y0 = new float[2 * tw];
        float[] y1 = new float[2 * tw];
        float[] s = new float[8 * tw];   // s0q, s1q for q = 0..3, each tw long
        long kStride = (long) k * tiles;
        for (int i = 0; i < th; i++) {
            int t0 = (img * th + i) * tw;
            long mb = (long) ko * tiles + t0;
            // Aᵀ along rows: s0q = m0q + m1q + m2q, s1q = m1q − m2q − m3q
            for (int q = 0; q < 4; q++) {
                long a0 = q * kStride + mb, a1 = (4 + q) * kStride + mb;
                long a2 = (8 + q) * kStride + mb, a3 = (12 + q) * kStride + mb;
                sumRows(m, a0, a1, a2, a3, tw, s, q * tw, (4 + q) * tw);
            }
            // A along columns: y·0 = s·0 + s·1 + s·2 + b, y·1 = s·1 − s·2 − s·3 + b, interleaved into rows
            for (int r = 0; r < 2; r++) {
                float[] y = r == 0 ? y0 : y1;
                int sb = r * 4 * tw;
                for (int j = 0; j < tw; j++) {
                    float s0 = s[sb + j], s1 = s[sb + tw + j], s2 = s[sb + 2 * tw + j], s3 = s[sb + 3 * tw + j];
                    y[2 * j] = s0 + s1 + s2 + b;
                    y[2 * j + 1] = s1 - s2 - s3 + b;
                }
            }
            for (int r = 0; r < 2; r++) {
                int oy = 2 * i + r;
                if (oy >= oh) {
                    break;
                }
                float[] y = r == 0 ? y0 : y1;
                long o = outOff + plane + (long) oy * ow;
                if (res != null) {
                    addRow(y, res, resOff + plane + (long) oy * ow, ow);
                }
                act.applyInPlace(y, 0, ow);
                MemorySegment.copy(y, 0, out, FL, o * 4, ow);
            }
        }
    }

    private static void sumRows(MemorySegment m, long a0, long a1, long a2, long a3, int len, float[] s, int d0,
                                int d1) {
        int j = 0;
        for (; j <= len - VL; j += VL) {
            FloatVector x0 = FloatVector.fromMemorySegment(S, m, (a0 + j) * 4, NO);
            FloatVector x1 = FloatVector.fromMemorySegment(S, m, (a1 + j) * 4, NO);
            FloatVector x2 = FloatVector.fromMemorySegment(S, m, (a2 + j) * 4, NO);
            FloatVector x3 = FloatVector.fromMemorySegment(S, m, (a3 + j) * 4, NO);
            x0.add(x1).add(x2).intoArray(s, d0 + j);
            x1.sub(x2).sub(x3).intoArray(s, d1 + j);
        }
        for (; j < len; j++) {
            float m0 = m.getAtIndex(FL, a0 + j), m1 = m.getAtIndex(FL, a1 + j);
            float m2 = m.getAtIndex(FL, a2 + j), m3 = m.getAtIndex(FL, a3 + j);
            s[d0 + j] = m0 + m1 + m2;
            s[d1 + j] = m1 - m2 - m3;
        }
    }

    private static void addRow(float[] y, MemorySegment res, long off, int len) {
        int j = 0;
        for (; j <= len - VL; j += VL) {
            FloatVector.fromArray(S, y, j).add(FloatVector.fromMemorySegment(S, res, (off + j) * 4,
                    java.nio.ByteOrder.nativeOrder())).intoArray(y, j);
        }
        for (; j < len; j++) {
            y[j] += res.getAtIndex(FL, off + j);
        }
    }
}
