package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3×3, stride-2, undilated convolution of an image with at most {@link #MAX_CHANNELS} channels (the stem of
 * MobileNet, EfficientNet and most ImageNet networks: RGB in, 32 channels out at half the size), computed directly.
 * Each padded input row is split once into its even and odd columns, so the three taps of a row are three plain
 * vector loads (even, odd, even shifted by one) for {@code VL} output columns; two column vectors and four output
 * channels go per pass (eight accumulators, six input vectors per tap row, 24 multiply-adds per 18 loads and
 * broadcasts). The implicit GEMM it replaces had a reduction of only {@code 9·C} terms (27 for RGB), so packing and
 * writing dominated (MobileNetV2's stem: 46 GFLOP/s on 2 threads).
 *
 * <p>Per output element the sum is {@code bias + Σ w·x} in (channel, row, column) tap order, then the activation.
 * Immutable; safe for concurrent runs.
 */
final class StemConv3x3s2 {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    /** Most input channels this kernel takes (beyond them the GEMM's reduction is long enough). */
    static final int MAX_CHANNELS = 4;
    /** System property {@code tandem.conv.stem} (default true; false leaves these to the implicit GEMM). */
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("tandem.conv.stem"));

    /** Per-thread buffers, grown once: allocated per call they were a young collection every few runs. */
    private static final ThreadLocal<Work> WORK = ThreadLocal.withInitial(Work::new);

    private static final class Work {
        private float[] buf = new float[0];
        private float[] stage = new float[0];
        private float[] rows = new float[0];
        private MemorySegment rowSegment = MemorySegment.ofArray(rows);

        /** Room for four output rows of {@code n} floats each. */
        float[] rows(int n) {
            if (rows.length < 4 * n) {
                rows = new float[4 * n];
                rowSegment = MemorySegment.ofArray(rows);
            }
            return rows;
        }

        /** The rows as a memory segment (what {@link #rowGroup} stores into). */
        MemorySegment rowSegment() {
            return rowSegment;
        }

        /** A zeroed buffer of at least {@code n} floats (the zero frame around the image is read). */
        float[] buf(int n) {
            if (buf.length < n) {
                buf = new float[n];
            } else {
                java.util.Arrays.fill(buf, 0, n, 0f);
            }
            return buf;
        }

        /** A zeroed row of exactly {@code n} floats. */
        float[] stage(int n) {
            if (stage.length != n) {
                stage = new float[n];
            } else {
                java.util.Arrays.fill(stage, 0f);
            }
            return stage;
        }
    }

    private final ConvParams p;
    private final int inChannels;
    private final int outChannels;
    /** [out channel, padded to a multiple of 4][in channel][9]. */
    private final float[] weights;
    /** [out channel, padded to a multiple of 4], zeros when the convolution has none. */
    private final float[] bias;
    private final Activation act;

    StemConv3x3s2(ConvParams p, int inChannels, int outChannels, float[] weights, float[] bias, Activation act) {
        this.p = p;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        int padded = (outChannels + 3) & ~3;
        this.weights = java.util.Arrays.copyOf(weights, padded * inChannels * 9);
        this.bias = bias == null ? new float[padded] : java.util.Arrays.copyOf(bias, padded);
        this.act = act;
    }

    /** Whether this kernel runs the convolution: 1 to 4 input channels, one group, 3×3, stride 2, dilation 1. */
    static boolean supports(ConvParams p, int inChannels) {
        return ENABLED && inChannels >= 1 && inChannels <= MAX_CHANNELS && p.groups() == 1 && p.kernelH() == 3
                && p.kernelW() == 3 && p.strideH() == 2 && p.strideW() == 2 && p.dilationH() == 1
                && p.dilationW() == 1;
    }

    long weightBytes() {
        return 4L * (weights.length + bias.length);
    }

    /**
     * {@code out[n][outChannels][oh][ow]} (offsets in floats) from {@code in[n][inChannels][h][w]}; with
     * {@code accumulate} the result is added to what {@code out} holds (before the activation).
     */
    void forward(ThreadPool pool, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out, long outOff,
                 boolean accumulate) {
        int oh = p.outH(h), ow = p.outW(w);
        if (oh <= 0 || ow <= 0 || n == 0) {
            return;
        }
        int threads = pool.threads();
        int bands = n >= 2 * threads ? 1 : Math.max(1, Math.min(oh, 4 * threads / n));
        int rowsPerBand = (oh + bands - 1) / bands;
        int perImage = (oh + rowsPerBand - 1) / rowsPerBand;
        // A phase row holds the ow + 1 columns read (even: j and j + 1) and two vectors of slack for the loads past
        // them; a padded row is staged in whole pairs of vectors (what the even/odd split reads), half per phase row.
        int stageLen = (p.padLeft() + w + 2 * VL - 1) / (2 * VL) * 2 * VL;
        int half = Math.max(ow + 1 + 2 * VL, stageLen / 2);
        pool.parallelFor(n * perImage, task -> {
            int b = task / perImage, r0 = (task % perImage) * rowsPerBand, r1 = Math.min(oh, r0 + rowsPerBand);
            int rows = 2 * (r1 - r0) + 1;         // padded input rows 2·r0 .. 2·r1
            Work work = WORK.get();
            float[] buf = work.buf(inChannels * rows * 2 * half);
            float[] stage = work.stage(stageLen);
            fill(in, inOff + (long) b * inChannels * h * w, h, w, r0, rows, half, buf, stage);
            // the buffered columns start at a multiple of VL and end at ow rounded up to whole vectors
            int owr = (ow + VL - 1) / VL * VL;
            float[] rowBuf = work.rows(owr);
            band(buf, rows, half, r0, r1, ow, owr, out, outOff + (long) b * outChannels * oh * ow, (long) oh * ow,
                    accumulate, rowBuf, work.rowSegment());
        });
    }

    /**
     * Padded rows {@code 2·r0 ..} of every channel, split into even and odd columns: channel ci's row i at
     * {@code ((ci·rows + i)·2)·half} (even) and {@code + half} (odd); zeros outside the image. {@code stage}: one
     * padded row (zeros before and after the image's columns), split by two-vector permutes.
     */
    private void fill(MemorySegment in, long off, int h, int w, int r0, int rows, int half, float[] buf,
                      float[] stage) {
        int padT = p.padTop(), padL = p.padLeft();
        for (int ci = 0; ci < inChannels; ci++) {
            for (int i = 0; i < rows; i++) {
                int y = 2 * r0 + i - padT;
                if (y < 0 || y >= h) {
                    continue;
                }
                MemorySegment.copy(in, FL, (off + ((long) ci * h + y) * w) * 4, stage, padL, w);
                int even = (ci * rows + i) * 2 * half;
                Simd.splitEvenOdd(stage, stage.length, buf, even, buf, even + half);
            }
        }
    }

    /**
     * Output rows r0..r1 of every channel. A group of four channels' rows is stored straight into the tensor's
     * memory, whole vectors at a time ({@link #rowGroup}); the columns after the last whole vector, and a last group
     * of fewer than four channels, are computed the same way into {@code rowBuf} (four rows of {@code owr} floats,
     * {@code rowSeg} over them) and copied out. Before, every row went through the buffer (11% of this kernel's
     * samples in the copy) and was computed in whole pairs of vectors (MobileNetV2's 112 columns as 128).
     */
    private void band(float[] buf, int rows, int half, int r0, int r1, int ow, int owr, MemorySegment out,
                      long outOff, long plane, boolean accumulate, float[] rowBuf, MemorySegment rowSeg) {
        boolean other = !act.isClamp();
        float lo = other ? Float.NEGATIVE_INFINITY : act.clampLow();
        float hi = other ? Float.POSITIVE_INFINITY : act.clampHigh();
        int whole = ow / VL * VL;
        for (int r = r0; r < r1; r++) {
            int rowBase = 2 * (r - r0);
            for (int k = 0; k < outChannels; k += 4) {
                int count = Math.min(4, outChannels - k);
                int from = count == 4 ? whole : 0;
                if (from > 0) {
                    rowGroup(buf, rows, half, rowBase, k, 0, whole, lo, hi, accumulate, out,
                            (outOff + (long) k * plane + (long) r * ow) * 4, plane * 4);
                }
                if (from == ow) {
                    continue;
                }
                // the rest in whole vectors into the buffer (the weights of channels past the last are zeros; the
                // lanes past ow and the rows past count are computed and dropped)
                if (accumulate) {
                    for (int q = 0; q < count; q++) {
                        MemorySegment.copy(out, FL, (outOff + (long) (k + q) * plane + (long) r * ow + from) * 4,
                                rowBuf, q * owr + from, ow - from);
                    }
                }
                rowGroup(buf, rows, half, rowBase, k, from, owr, lo, hi, accumulate, rowSeg, 0, 4L * owr);
                for (int q = 0; q < count; q++) {
                    long at = (outOff + (long) (k + q) * plane + (long) r * ow + from) * 4;
                    MemorySegment.copy(rowBuf, q * owr + from, out, FL, at, ow - from);
                }
            }
            if (other) {
                for (int k = 0; k < outChannels; k++) {
                    act.applyInPlace(out, outOff + k * plane + (long) r * ow, ow);
                }
            }
        }
    }

    /**
     * Columns {@code from..to} (both multiples of {@code VL}) of one output row of output channels {@code k..k+4},
     * stored into {@code out} at byte offset {@code at + 4·j} (channel k's column j) plus {@code q·rowBytes}
     * (channel k+q's): pairs of vectors (eight accumulators), then one vector (four) where a pair does not fit; with
     * {@code accumulate}, what {@code out} holds there is added first; clamped to [lo, hi]. A method of its own,
     * called once per row and channel group, so that C2 compiles it once on its call count: as the body of
     * {@link #band}'s row loop it was compiled three times (on-stack replacements of a loop that runs for a whole
     * band, then the method), 430 ms of C2's time in a model's first seconds (docs/benchmarks.md, "Thirteenth
     * session"). No vector crosses its boundary: passed to or from a method C2 does not inline, they are boxed.
     */
    private void rowGroup(float[] buf, int rows, int half, int rowBase, int k, int from, int to, float lo, float hi,
                          boolean accumulate, MemorySegment out, long at, long rowBytes) {
        FloatVector vlo = FloatVector.broadcast(S, lo);
        FloatVector vhi = FloatVector.broadcast(S, hi);
        int taps = inChannels * 9;
        long at1 = at + rowBytes, at2 = at1 + rowBytes, at3 = at2 + rowBytes;
        int j = from;
        for (; j + 2 * VL <= to; j += 2 * VL) {
            FloatVector a0 = FloatVector.broadcast(S, bias[k]), b0 = a0;
            FloatVector a1 = FloatVector.broadcast(S, bias[k + 1]), b1 = a1;
            FloatVector a2 = FloatVector.broadcast(S, bias[k + 2]), b2 = a2;
            FloatVector a3 = FloatVector.broadcast(S, bias[k + 3]), b3 = a3;
            int w0 = k * taps;
            for (int ci = 0; ci < inChannels; ci++) {
                for (int ky = 0; ky < 3; ky++) {
                    int e = ((ci * rows + rowBase + ky) * 2) * half + j, o = e + half;
                    int t = w0 + ci * 9 + ky * 3;
                    FloatVector x0 = FloatVector.fromArray(S, buf, e);
                    FloatVector y0 = FloatVector.fromArray(S, buf, e + VL);
                    FloatVector x1 = FloatVector.fromArray(S, buf, o);
                    FloatVector y1 = FloatVector.fromArray(S, buf, o + VL);
                    FloatVector x2 = FloatVector.fromArray(S, buf, e + 1);
                    FloatVector y2 = FloatVector.fromArray(S, buf, e + 1 + VL);
                    FloatVector wv = FloatVector.broadcast(S, weights[t]);
                    a0 = x0.fma(wv, a0);
                    b0 = y0.fma(wv, b0);
                    wv = FloatVector.broadcast(S, weights[t + 1]);
                    a0 = x1.fma(wv, a0);
                    b0 = y1.fma(wv, b0);
                    wv = FloatVector.broadcast(S, weights[t + 2]);
                    a0 = x2.fma(wv, a0);
                    b0 = y2.fma(wv, b0);
                    wv = FloatVector.broadcast(S, weights[t + taps]);
                    a1 = x0.fma(wv, a1);
                    b1 = y0.fma(wv, b1);
                    wv = FloatVector.broadcast(S, weights[t + taps + 1]);
                    a1 = x1.fma(wv, a1);
                    b1 = y1.fma(wv, b1);
                    wv = FloatVector.broadcast(S, weights[t + taps + 2]);
                    a1 = x2.fma(wv, a1);
                    b1 = y2.fma(wv, b1);
                    wv = FloatVector.broadcast(S, weights[t + 2 * taps]);
                    a2 = x0.fma(wv, a2);
                    b2 = y0.fma(wv, b2);
                    wv = FloatVector.broadcast(S, weights[t + 2 * taps + 1]);
                    a2 = x1.fma(wv, a2);
                    b2 = y1.fma(wv, b2);
                    wv = FloatVector.broadcast(S, weights[t + 2 * taps + 2]);
                    a2 = x2.fma(wv, a2);
                    b2 = y2.fma(wv, b2);
                    wv = FloatVector.broadcast(S, weights[t + 3 * taps]);
                    a3 = x0.fma(wv, a3);
                    b3 = y0.fma(wv, b3);
                    wv = FloatVector.broadcast(S, weights[t + 3 * taps + 1]);
                    a3 = x1.fma(wv, a3);
                    b3 = y1.fma(wv, b3);
                    wv = FloatVector.broadcast(S, weights[t + 3 * taps + 2]);
                    a3 = x2.fma(wv, a3);
                    b3 = y2.fma(wv, b3);
                }
            }
            long c = 4L * j, d = c + 4L * VL;
            // the epilogue written out here: handed to a helper, the accumulators were boxed (not inlined)
            if (accumulate) {
                a0 = a0.add(FloatVector.fromMemorySegment(S, out, at + c, LE));
                b0 = b0.add(FloatVector.fromMemorySegment(S, out, at + d, LE));
                a1 = a1.add(FloatVector.fromMemorySegment(S, out, at1 + c, LE));
                b1 = b1.add(FloatVector.fromMemorySegment(S, out, at1 + d, LE));
                a2 = a2.add(FloatVector.fromMemorySegment(S, out, at2 + c, LE));
                b2 = b2.add(FloatVector.fromMemorySegment(S, out, at2 + d, LE));
                a3 = a3.add(FloatVector.fromMemorySegment(S, out, at3 + c, LE));
                b3 = b3.add(FloatVector.fromMemorySegment(S, out, at3 + d, LE));
            }
            a0 = a0.blend(vlo, a0.compare(VectorOperators.LT, vlo));
            b0 = b0.blend(vlo, b0.compare(VectorOperators.LT, vlo));
            a1 = a1.blend(vlo, a1.compare(VectorOperators.LT, vlo));
            b1 = b1.blend(vlo, b1.compare(VectorOperators.LT, vlo));
            a2 = a2.blend(vlo, a2.compare(VectorOperators.LT, vlo));
            b2 = b2.blend(vlo, b2.compare(VectorOperators.LT, vlo));
            a3 = a3.blend(vlo, a3.compare(VectorOperators.LT, vlo));
            b3 = b3.blend(vlo, b3.compare(VectorOperators.LT, vlo));
            a0.blend(vhi, a0.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at + c, LE);
            b0.blend(vhi, b0.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at + d, LE);
            a1.blend(vhi, a1.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at1 + c, LE);
            b1.blend(vhi, b1.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at1 + d, LE);
            a2.blend(vhi, a2.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at2 + c, LE);
            b2.blend(vhi, b2.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at2 + d, LE);
            a3.blend(vhi, a3.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at3 + c, LE);
            b3.blend(vhi, b3.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at3 + d, LE);
        }
        if (j < to) {
            // one vector left (to − from is a multiple of VL): four accumulators, the same taps
            FloatVector a0 = FloatVector.broadcast(S, bias[k]);
            FloatVector a1 = FloatVector.broadcast(S, bias[k + 1]);
            FloatVector a2 = FloatVector.broadcast(S, bias[k + 2]);
            FloatVector a3 = FloatVector.broadcast(S, bias[k + 3]);
            int w0 = k * taps;
            for (int ci = 0; ci < inChannels; ci++) {
                for (int ky = 0; ky < 3; ky++) {
                    int e = ((ci * rows + rowBase + ky) * 2) * half + j, o = e + half;
                    int t = w0 + ci * 9 + ky * 3;
                    FloatVector x0 = FloatVector.fromArray(S, buf, e);
                    FloatVector x1 = FloatVector.fromArray(S, buf, o);
                    FloatVector x2 = FloatVector.fromArray(S, buf, e + 1);
                    a0 = x0.fma(FloatVector.broadcast(S, weights[t]), a0);
                    a0 = x1.fma(FloatVector.broadcast(S, weights[t + 1]), a0);
                    a0 = x2.fma(FloatVector.broadcast(S, weights[t + 2]), a0);
                    a1 = x0.fma(FloatVector.broadcast(S, weights[t + taps]), a1);
                    a1 = x1.fma(FloatVector.broadcast(S, weights[t + taps + 1]), a1);
                    a1 = x2.fma(FloatVector.broadcast(S, weights[t + taps + 2]), a1);
                    a2 = x0.fma(FloatVector.broadcast(S, weights[t + 2 * taps]), a2);
                    a2 = x1.fma(FloatVector.broadcast(S, weights[t + 2 * taps + 1]), a2);
                    a2 = x2.fma(FloatVector.broadcast(S, weights[t + 2 * taps + 2]), a2);
                    a3 = x0.fma(FloatVector.broadcast(S, weights[t + 3 * taps]), a3);
                    a3 = x1.fma(FloatVector.broadcast(S, weights[t + 3 * taps + 1]), a3);
                    a3 = x2.fma(FloatVector.broadcast(S, weights[t + 3 * taps + 2]), a3);
                }
            }
            long c = 4L * j;
            if (accumulate) {
                a0 = a0.add(FloatVector.fromMemorySegment(S, out, at + c, LE));
                a1 = a1.add(FloatVector.fromMemorySegment(S, out, at1 + c, LE));
                a2 = a2.add(FloatVector.fromMemorySegment(S, out, at2 + c, LE));
                a3 = a3.add(FloatVector.fromMemorySegment(S, out, at3 + c, LE));
            }
            a0 = a0.blend(vlo, a0.compare(VectorOperators.LT, vlo));
            a1 = a1.blend(vlo, a1.compare(VectorOperators.LT, vlo));
            a2 = a2.blend(vlo, a2.compare(VectorOperators.LT, vlo));
            a3 = a3.blend(vlo, a3.compare(VectorOperators.LT, vlo));
            a0.blend(vhi, a0.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at + c, LE);
            a1.blend(vhi, a1.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at1 + c, LE);
            a2.blend(vhi, a2.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at2 + c, LE);
            a3.blend(vhi, a3.compare(VectorOperators.GT, vhi)).intoMemorySegment(out, at3 + c, LE);
        }
    }
}
