package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The weight gradient of a stride-1, dilation-1, one-group 2-D convolution as dot products along the pixels, with
 * no im2col and no packing:
 * {@code dW[o][c][i][j] = Σ_images Σ_(y,x) dY[o][y][x] · Xpad[c][y + i][x + j]}.
 *
 * <p>Both operands are copied into flat buffers with the padded row width {@code wp = w + padL + padR}: dY's row y
 * at {@code y·wp} (zeros in its last {@code kw - 1} columns), the padded input's row r at {@code r·wp}. Then tap
 * (i, j) is the constant shift {@code i·wp + j} of one flat index q, and every dot product is a contiguous
 * {@code Σ_q dy[q]·x[q + shift]} — SIMD along q. A group of images is laid one after the other ({@code rows·wp}
 * apart, {@code rows = h + max(padT, padB)}: an image's bottom padding is the next one's top padding), so one pass
 * of the dot products covers the whole group and the per-lane sums are reduced once per group. Task t takes
 * groups t, t + tasks, ... into its own accumulator (a fixed split, so results do not depend on thread timing);
 * the accumulators are added at the end in task order.
 *
 * <p>The micro-kernel computes 4 output channels × 5 taps (20 vector accumulators; 9 loads per 20 FMAs). Tested
 * against the float64 reference by {@code ConvBackwardTest}.
 */
final class ShiftedDot {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Flat length a group of images aims at: long enough to amortise the reductions, short enough for L1/L2. */
    private static final int TARGET_Q = 1800;

    private ShiftedDot() {
    }

    /** Whether {@link #weight} handles this convolution. */
    static boolean applies(ConvParams p) {
        return p.groups() == 1 && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && p.padTop() >= 0 && p.padBottom() >= 0 && p.padLeft() >= 0 && p.padRight() >= 0
                && Math.min(p.padTop(), p.padBottom()) <= p.kernelH() - 1;
    }

    /** {@code dw [m, c, kh, kw]} from {@code dy [n, m, oh, ow]} and {@code x [n, c, h, w]}, all contiguous. */
    static void weight(ThreadPool pool, ConvParams p, Tensor dy, Tensor x, Tensor dw) {
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int m = dw.shape().dim(0), kh = p.kernelH(), kw = p.kernelW();
        int oh = dy.shape().dim(2), ow = dy.shape().dim(3);
        int wp = w + p.padLeft() + p.padRight();
        int rows = h + Math.max(p.padTop(), p.padBottom());
        int stride = rows * wp;
        int group = Math.max(1, Math.min(n, Math.round((float) TARGET_Q / stride)));
        int groups = (n + group - 1) / group;
        int q = (group * stride + VL - 1) / VL * VL;
        int maxShift = (kh - 1) * wp + kw - 1;
        int xLen = q + maxShift + 1;
        int cols = c * kh * kw;
        int tasks = Math.min(pool.threads(), groups);
        float[][] partial = new float[tasks][];
        Geometry geo = new Geometry(n, c, h, w, m, oh, ow, wp, stride, group, q, xLen, p.padTop(), p.padLeft(),
                kh, kw, cols);
        pool.parallelFor(tasks, t -> {
            float[] acc = new float[m * cols];
            float[] dyBuf = new float[m * q];
            float[] xBuf = new float[c * xLen];
            // Groups are dealt out statically (t, t + tasks, ...) so that each accumulator sums the same images in
            // the same order on every run: training is reproducible bit for bit for a thread count (and resume
            // gives what an uninterrupted run gives).
            for (int gi = t; gi < groups; gi += tasks) {
                fill(geo, dy, x, gi, dyBuf, xBuf);
                accumulate(geo, dyBuf, xBuf, acc);
            }
            partial[t] = acc;
        });
        float[] sum = partial[0];
        for (int t = 1; t < tasks; t++) {
            for (int i = 0; i < sum.length; i++) {
                sum[i] += partial[t][i];
            }
        }
        MemorySegment.copy(sum, 0, dw.segment(), F, dw.offset() * 4, sum.length);
    }

    private record Geometry(int n, int c, int h, int w, int m, int oh, int ow, int wp, int stride, int group, int q,
                            int xLen, int padT, int padL, int kh, int kw, int cols) {
    }

    /** Copies group gi's images into the flat buffers (zeros everywhere else). */
    private static void fill(Geometry g, Tensor dy, Tensor x, int gi, float[] dyBuf, float[] xBuf) {
        Arrays.fill(dyBuf, 0f);
        Arrays.fill(xBuf, 0f);
        int b0 = gi * g.group(), b1 = Math.min(g.n(), b0 + g.group());
        MemorySegment ds = dy.segment(), xs = x.segment();
        for (int b = b0; b < b1; b++) {
            int base = (b - b0) * g.stride();
            for (int o = 0; o < g.m(); o++) {
                long src = dy.offset() + ((long) b * g.m() + o) * g.oh() * g.ow();
                for (int y = 0; y < g.oh(); y++) {
                    MemorySegment.copy(ds, F, (src + (long) y * g.ow()) * 4, dyBuf, o * g.q() + base + y * g.wp(),
                            g.ow());
                }
            }
            for (int ch = 0; ch < g.c(); ch++) {
                long src = x.offset() + ((long) b * g.c() + ch) * g.h() * g.w();
                int to = ch * g.xLen() + base + g.padT() * g.wp() + g.padL();
                for (int y = 0; y < g.h(); y++) {
                    MemorySegment.copy(xs, F, (src + (long) y * g.w()) * 4, xBuf, to + y * g.wp(), g.w());
                }
            }
        }
    }

    /** {@code acc[o][col] += Σ_q dy[o][q]·x[c][q + shift(col)]} for every output channel and column (c, i, j). */
    private static void accumulate(Geometry g, float[] dyBuf, float[] xBuf, float[] acc) {
        int m = g.m(), cols = g.cols(), q = g.q(), taps = g.kh() * g.kw();
        int[] shift = new int[cols];
        for (int col = 0; col < cols; col++) {
            int ch = col / taps, t = col % taps;
            shift[col] = ch * g.xLen() + t / g.kw() * g.wp() + t % g.kw();
        }
        float[] tile = new float[20 * VL];
        int o = 0;
        for (; o + 4 <= m; o += 4) {
            int col = 0;
            for (; col + 5 <= cols; col += 5) {
                dot4x5(q, dyBuf, o * q, xBuf, shift[col], shift[col + 1], shift[col + 2], shift[col + 3],
                        shift[col + 4], tile);
                reduceTile(tile, 4, 5, acc, o * cols + col, cols);
            }
            for (; col < cols; col++) {
                dot4x1(q, dyBuf, o * q, xBuf, shift[col], tile);
                reduceTile(tile, 4, 1, acc, o * cols + col, cols);
            }
        }
        for (; o < m; o++) {
            for (int col = 0; col < cols; col++) {
                dot(q, dyBuf, o * q, xBuf, shift[col], tile);
                reduceTile(tile, 1, 1, acc, o * cols + col, cols);
            }
        }
    }

    /** 4 rows of dy (q apart) against 5 shifted x runs: 20 accumulators, kept small so that C2 keeps them in registers. */
    private static void dot4x5(int q, float[] d, int d0, float[] x, int x0, int x1, int x2, int x3, int x4,
                               float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S);
        FloatVector c03 = FloatVector.zero(S), c04 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S);
        FloatVector c13 = FloatVector.zero(S), c14 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S);
        FloatVector c23 = FloatVector.zero(S), c24 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S);
        FloatVector c33 = FloatVector.zero(S), c34 = FloatVector.zero(S);
        for (int k = 0; k < q; k += VL) {
            FloatVector v0 = FloatVector.fromArray(S, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(S, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(S, x, x2 + k);
            FloatVector v3 = FloatVector.fromArray(S, x, x3 + k);
            FloatVector v4 = FloatVector.fromArray(S, x, x4 + k);
            FloatVector a = FloatVector.fromArray(S, d, d0 + k);
            c00 = a.fma(v0, c00);
            c01 = a.fma(v1, c01);
            c02 = a.fma(v2, c02);
            c03 = a.fma(v3, c03);
            c04 = a.fma(v4, c04);
            a = FloatVector.fromArray(S, d, d0 + q + k);
            c10 = a.fma(v0, c10);
            c11 = a.fma(v1, c11);
            c12 = a.fma(v2, c12);
            c13 = a.fma(v3, c13);
            c14 = a.fma(v4, c14);
            a = FloatVector.fromArray(S, d, d0 + 2 * q + k);
            c20 = a.fma(v0, c20);
            c21 = a.fma(v1, c21);
            c22 = a.fma(v2, c22);
            c23 = a.fma(v3, c23);
            c24 = a.fma(v4, c24);
            a = FloatVector.fromArray(S, d, d0 + 3 * q + k);
            c30 = a.fma(v0, c30);
            c31 = a.fma(v1, c31);
            c32 = a.fma(v2, c32);
            c33 = a.fma(v3, c33);
            c34 = a.fma(v4, c34);
        }
        // Into the tile, reduced by the caller: a vector passed to a method whose parameter type is the abstract
        // FloatVector is a virtual call that C2 does not intrinsify (every accumulator was boxed, 10x slower).
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c02.intoArray(tile, 2 * VL);
        c03.intoArray(tile, 3 * VL);
        c04.intoArray(tile, 4 * VL);
        c10.intoArray(tile, 5 * VL);
        c11.intoArray(tile, 6 * VL);
        c12.intoArray(tile, 7 * VL);
        c13.intoArray(tile, 8 * VL);
        c14.intoArray(tile, 9 * VL);
        c20.intoArray(tile, 10 * VL);
        c21.intoArray(tile, 11 * VL);
        c22.intoArray(tile, 12 * VL);
        c23.intoArray(tile, 13 * VL);
        c24.intoArray(tile, 14 * VL);
        c30.intoArray(tile, 15 * VL);
        c31.intoArray(tile, 16 * VL);
        c32.intoArray(tile, 17 * VL);
        c33.intoArray(tile, 18 * VL);
        c34.intoArray(tile, 19 * VL);
    }

    /** {@code acc[a0 + r·lda + j] += Σ lanes of tile vector r·width + j} for a rows × width tile. */
    private static void reduceTile(float[] tile, int rows, int width, float[] acc, int a0, int lda) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < width; j++) {
                // Lanes summed in order (not reduceLanes, whose order differs between the interpreter and C2):
                // training stays reproducible bit for bit.
                int base = (r * width + j) * VL;
                float sum = 0;
                for (int l = 0; l < VL; l++) {
                    sum += tile[base + l];
                }
                acc[a0 + r * lda + j] += sum;
            }
        }
    }

    private static void dot4x1(int q, float[] d, int d0, float[] x, int x0, float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        for (int k = 0; k < q; k += VL) {
            FloatVector v = FloatVector.fromArray(S, x, x0 + k);
            c0 = FloatVector.fromArray(S, d, d0 + k).fma(v, c0);
            c1 = FloatVector.fromArray(S, d, d0 + q + k).fma(v, c1);
            c2 = FloatVector.fromArray(S, d, d0 + 2 * q + k).fma(v, c2);
            c3 = FloatVector.fromArray(S, d, d0 + 3 * q + k).fma(v, c3);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, VL);
        c2.intoArray(tile, 2 * VL);
        c3.intoArray(tile, 3 * VL);
    }

    private static void dot(int q, float[] d, int d0, float[] x, int x0, float[] tile) {
        FloatVector c = FloatVector.zero(S);
        for (int k = 0; k < q; k += VL) {
            c = FloatVector.fromArray(S, d, d0 + k).fma(FloatVector.fromArray(S, x, x0 + k), c);
        }
        c.intoArray(tile, 0);
    }
}
