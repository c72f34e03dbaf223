package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3×3, stride-1, undilated convolution of a one-channel image (a grayscale network's first layer), computed
 * directly: SIMD across a row's output columns, two output rows per pass. The twelve input vectors the two rows read
 * (four padded rows, three column shifts) are loaded once and serve every output channel, whose nine weights are
 * broadcast once for both rows: 18 multiply-adds per 9 broadcasts, no packing. The implicit GEMM it replaces had a
 * reduction of only nine terms, so packing and writing dominated (FashionNet's first layer at batch 128: 4 ms, 14
 * GFLOP/s, on 2 threads).
 *
 * <p>Per output element the sum is {@code bias + Σ w·x} in tap order (row by row), then the activation.
 * Immutable; safe for concurrent runs.
 */
final class SingleChannel3x3 {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    /** System property {@code tandem.conv.singleChannel} (default true; false leaves these to the implicit GEMM). */
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("tandem.conv.singleChannel"));

    /** Per-thread padded rows, grown once: allocated per call they were a young collection every few runs. */
    private static final ThreadLocal<float[][]> WORK = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    /** A zeroed buffer of at least {@code n} floats (the zero frame around the image is read). */
    private static float[] buffer(int n) {
        float[][] holder = WORK.get();
        if (holder[0].length < n) {
            holder[0] = new float[n];
        } else {
            java.util.Arrays.fill(holder[0], 0, n, 0f);
        }
        return holder[0];
    }

    private final ConvParams p;
    private final int outChannels;
    /** [out channel][9]. */
    private final float[] weights;
    /** [out channel], zeros when the convolution has none. */
    private final float[] bias;
    private final Activation act;

    SingleChannel3x3(ConvParams p, int outChannels, float[] weights, float[] bias, Activation act) {
        this.p = p;
        this.outChannels = outChannels;
        this.weights = weights.clone();
        this.bias = bias == null ? new float[outChannels] : bias.clone();
        this.act = act;
    }

    /** Whether this kernel runs the convolution: one input channel, one group, 3×3, stride 1, dilation 1. */
    static boolean supports(ConvParams p, int inChannels) {
        return ENABLED && inChannels == 1 && p.groups() == 1 && p.kernelH() == 3 && p.kernelW() == 3
                && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1;
    }

    long weightBytes() {
        return 4L * (weights.length + bias.length);
    }

    /**
     * {@code out[n][outChannels][oh][ow]} (offsets in floats) from {@code in[n][1][h][w]}; with {@code accumulate}
     * the result is added to what {@code out} holds (before the activation).
     */
    void forward(ThreadPool pool, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out, long outOff,
                 boolean accumulate) {
        int oh = p.outH(h), ow = p.outW(w);
        if (oh <= 0 || ow <= 0 || n == 0) {
            return;
        }
        int threads = pool.threads();
        // Whole images per task on a batch; a single image (or a few) is split into bands of row pairs.
        int bands = n >= 2 * threads ? 1 : Math.max(1, Math.min((oh + 1) / 2, 4 * threads / n));
        int rowsPerBand = ((oh + bands - 1) / bands + 1) & ~1;
        int perImage = (oh + rowsPerBand - 1) / rowsPerBand;
        int bw = ow + 2 + VL;   // a padded row, with a vector of slack for the last column block's shifted loads
        pool.parallelFor(n * perImage, task -> {
            int b = task / perImage, r0 = (task % perImage) * rowsPerBand, r1 = Math.min(oh, r0 + rowsPerBand);
            float[] buf = buffer((r1 - r0 + 2) * bw);
            fill(in, inOff + (long) b * h * w, h, w, r0, r1 + 2, bw, buf);
            band(buf, bw, r0, r1, ow, out, outOff + (long) b * outChannels * oh * ow, (long) oh * ow, accumulate);
        });
    }

    /** Padded rows {@code r0 .. r1-1} (padded coordinates) of one image into {@code buf}, zeros outside the image. */
    private void fill(MemorySegment in, long off, int h, int w, int r0, int r1, int bw, float[] buf) {
        int padT = p.padTop(), padL = p.padLeft();
        int c0 = Math.max(0, -padL), c1 = Math.min(w, bw - padL);   // input columns that land in the row
        for (int r = r0; r < r1; r++) {
            int y = r - padT;
            if (y < 0 || y >= h || c1 <= c0) {
                continue;
            }
            MemorySegment.copy(in, FL, (off + (long) y * w + c0) * 4, buf, (r - r0) * bw + c0 + padL, c1 - c0);
        }
    }

    private void band(float[] buf, int bw, int r0, int r1, int ow, MemorySegment out, long outOff, long plane,
                      boolean accumulate) {
        boolean clamp = act.kind() != Activation.Kind.NONE && act.isClamp();
        for (int r = r0; r < r1; r += 2) {
            boolean two = r + 1 < r1;
            int q0 = (r - r0) * bw;
            for (int j = 0; j < ow; j += VL) {
                columns(buf, q0, two ? q0 + 3 * bw : q0 + 2 * bw, bw, j, ow, two, out,
                        (outOff + (long) r * ow + j) * 4, plane, accumulate, clamp);
            }
            if (!act.isClamp()) {
                for (int k = 0; k < outChannels; k++) {
                    long at = outOff + k * plane + (long) r * ow;
                    act.applyInPlace(out, at, two ? 2L * ow : ow);
                }
            }
        }
    }

    /**
     * One vector of output columns from {@code j}, two rows (the second when {@code two}), every output channel.
     * Its own method: inside the row loop the method grew past what C1 could allocate registers for, and without
     * that tier it never reached C2 (the vector operations then ran as Java code).
     */
    private void columns(float[] buf, int q0, int q3, int bw, int j, int ow, boolean two, MemorySegment out, long o0,
                         long plane, boolean accumulate, boolean clamp) {
        int q1 = q0 + bw, q2 = q1 + bw;
        boolean whole = j + VL <= ow;
        VectorMask<Float> m = whole ? S.maskAll(true) : S.indexInRange(j, ow);
        FloatVector x00 = FloatVector.fromArray(S, buf, q0 + j), x01 = FloatVector.fromArray(S, buf, q0 + j + 1);
        FloatVector x02 = FloatVector.fromArray(S, buf, q0 + j + 2);
        FloatVector x10 = FloatVector.fromArray(S, buf, q1 + j), x11 = FloatVector.fromArray(S, buf, q1 + j + 1);
        FloatVector x12 = FloatVector.fromArray(S, buf, q1 + j + 2);
        FloatVector x20 = FloatVector.fromArray(S, buf, q2 + j), x21 = FloatVector.fromArray(S, buf, q2 + j + 1);
        FloatVector x22 = FloatVector.fromArray(S, buf, q2 + j + 2);
        FloatVector x30 = FloatVector.fromArray(S, buf, q3 + j), x31 = FloatVector.fromArray(S, buf, q3 + j + 1);
        FloatVector x32 = FloatVector.fromArray(S, buf, q3 + j + 2);
        float lo = act.clampLow(), hi = act.clampHigh();
        long o1 = o0 + 4L * ow;
        for (int k = 0; k < outChannels; k++) {
            int wk = 9 * k;
            FloatVector bk = FloatVector.broadcast(S, bias[k]);
            FloatVector w0 = FloatVector.broadcast(S, weights[wk]);
            FloatVector a = x00.fma(w0, bk), c = x10.fma(w0, bk);
            FloatVector wv = FloatVector.broadcast(S, weights[wk + 1]);
            a = x01.fma(wv, a);
            c = x11.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 2]);
            a = x02.fma(wv, a);
            c = x12.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 3]);
            a = x10.fma(wv, a);
            c = x20.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 4]);
            a = x11.fma(wv, a);
            c = x21.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 5]);
            a = x12.fma(wv, a);
            c = x22.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 6]);
            a = x20.fma(wv, a);
            c = x30.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 7]);
            a = x21.fma(wv, a);
            c = x31.fma(wv, c);
            wv = FloatVector.broadcast(S, weights[wk + 8]);
            a = x22.fma(wv, a);
            c = x32.fma(wv, c);
            long ko = 4L * k * plane;
            // Masked loads and stores only at a row's end: on a segment they are several times slower.
            if (accumulate) {
                a = a.add(whole ? FloatVector.fromMemorySegment(S, out, o0 + ko, LE)
                        : FloatVector.fromMemorySegment(S, out, o0 + ko, LE, m));
            }
            if (clamp) {
                a = a.max(lo).min(hi);
            }
            if (whole) {
                a.intoMemorySegment(out, o0 + ko, LE);
            } else {
                a.intoMemorySegment(out, o0 + ko, LE, m);
            }
            if (two) {
                if (accumulate) {
                    c = c.add(whole ? FloatVector.fromMemorySegment(S, out, o1 + ko, LE)
                            : FloatVector.fromMemorySegment(S, out, o1 + ko, LE, m));
                }
                if (clamp) {
                    c = c.max(lo).min(hi);
                }
                if (whole) {
                    c.intoMemorySegment(out, o1 + ko, LE);
                } else {
                    c.intoMemorySegment(out, o1 + ko, LE, m);
                }
            }
        }
    }
}
