package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-D max and average pooling over NCHW float32 data, windowed and global.
 *
 * <p><b>Geometry.</b> A window is described by a {@link ConvParams} with {@code groups == 1}: kernel size,
 * strides, explicit padding on each side and dilations. {@code ceilMode} rounds the output size up as ONNX's
 * {@code ceil_mode} and PyTorch do, computed by {@link ConvParams#outSize} (a last window that would start inside
 * the end padding is dropped). Max pooling treats padding as {@code -inf}; NaN inputs propagate. Average pooling
 * with {@code countIncludePad == false} divides by the number of in-bounds elements of the window (a window with
 * none, possible only when a pad is at least the window extent, gives NaN); with {@code countIncludePad == true} it
 * divides by the number of window taps inside the padded input {@code [-padBegin, size + padEnd)} on each axis, so
 * the padding counts but the overhang that ceil mode adds does not (ONNX Runtime and PyTorch semantics). Dilation
 * applies to both kinds (ONNX AveragePool-19 has it); the divisor then counts taps, not the span.
 *
 * <p><b>Algorithm.</b> Both reductions are separable: for each output row the input rows of the window are first
 * reduced into a padded column buffer (vectorised along the input width), then each output element reduces the
 * buffer horizontally. Both passes are vectorised: the vertical one along the input width, the horizontal one
 * along the output width at stride 1; for horizontal strides above 1 the horizontal pass reduces at every position
 * and a scalar loop keeps every {@code strideW}-th (no gathers, which not every CPU has). Global pools reduce each
 * plane as one vectorised run; the sum is Kahan-compensated.
 *
 * <p><b>Tensors and threads.</b> Input and output are contiguous float32 {@code [N, C, H, W]}; the output shape is
 * {@link #outputShape} ({@code [N, C, 1, 1]} for the global pools). Work is split over planes and row blocks on the
 * given pool; all methods are stateless and may run concurrently on distinct outputs. The scalar reference is
 * {@link dev.tandem.runtime.kernels.reference.ReferencePooling}.
 */
public final class Pooling {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final String NCHW = "[N, C, H, W]";

    private Pooling() {
    }

    /**
     * The output shape {@code [N, C, outH, outW]} of a windowed pool over {@code input} ({@code [N, C, H, W]}).
     *
     * @throws IllegalArgumentException when the input is not rank 4, {@code groups != 1}, or the window does not fit
     */
    public static Shape outputShape(Shape input, ConvParams p, boolean ceilMode) {
        if (input.rank() != 4) {
            throw new IllegalArgumentException("Pooling input must be [N, C, H, W]; got shape " + input);
        }
        if (p.groups() != 1) {
            throw new IllegalArgumentException("Pooling geometry must have groups = 1; got " + p);
        }
        int oh = ConvParams.outSize(input.dim(2), p.kernelH(), p.strideH(), p.padTop(), p.padBottom(),
                p.dilationH(), ceilMode);
        int ow = ConvParams.outSize(input.dim(3), p.kernelW(), p.strideW(), p.padLeft(), p.padRight(),
                p.dilationW(), ceilMode);
        return Shape.of(input.dim(0), input.dim(1), oh, ow);
    }

    /**
     * Max pooling: {@code out[n,c,y,x]} is the largest input in the window, padding counting as {@code -inf}.
     *
     * @throws IllegalArgumentException naming expected and actual shapes when a tensor is wrong
     */
    public static void maxPool(ThreadPool pool, Tensor in, Tensor out, ConvParams p, boolean ceilMode) {
        windowed(pool, "MaxPool", true, in, out, p, ceilMode, false);
    }

    /**
     * Average pooling; see the class comment for the divisor under {@code countIncludePad} and ceil mode.
     *
     * @throws IllegalArgumentException naming expected and actual shapes when a tensor is wrong
     */
    public static void averagePool(ThreadPool pool, Tensor in, Tensor out, ConvParams p, boolean ceilMode,
                                   boolean countIncludePad) {
        windowed(pool, "AveragePool", false, in, out, p, ceilMode, countIncludePad);
    }

    /**
     * The mean of each plane: {@code [N, C, H, W] -> [N, C, 1, 1]}. An empty plane ({@code H·W == 0}) gives NaN.
     */
    public static void globalAveragePool(ThreadPool pool, Tensor in, Tensor out) {
        global(pool, "GlobalAveragePool", false, in, out);
    }

    /** The maximum of each plane: {@code [N, C, H, W] -> [N, C, 1, 1]}. An empty plane gives {@code -inf}. */
    public static void globalMaxPool(ThreadPool pool, Tensor in, Tensor out) {
        global(pool, "GlobalMaxPool", true, in, out);
    }

    private static void global(ThreadPool pool, String op, boolean isMax, Tensor in, Tensor out) {
        TensorChecks.requireContiguous(op, "input", in, 4, NCHW);
        Shape s = in.shape();
        TensorChecks.requireContiguous(op, "output", out, Shape.of(s.dim(0), s.dim(1), 1, 1));
        int planes = s.dim(0) * s.dim(1);
        int hw = Math.multiplyExact(s.dim(2), s.dim(3));
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        Chunks.run(pool, planes, (long) planes * hw, (from, to) -> {
            for (int pi = from; pi < to; pi++) {
                long base = io + (long) pi * hw;
                float v = isMax ? RunReductions.max(src, base, hw) : (float) (RunReductions.sum(src, base, hw) / hw);
                dst.setAtIndex(FL, oo + pi, v);
            }
        });
    }

    private static void windowed(ThreadPool pool, String op, boolean isMax, Tensor in, Tensor out, ConvParams p,
                                 boolean ceilMode, boolean includePad) {
        TensorChecks.requireContiguous(op, "input", in, 4, NCHW);
        Shape os = outputShape(in.shape(), p, ceilMode);
        TensorChecks.requireContiguous(op, "output", out, os);
        Geometry g = new Geometry(p, in.shape().dim(2), in.shape().dim(3), os.dim(2), os.dim(3), isMax, includePad);
        int planes = os.dim(0) * os.dim(1);
        if (planes == 0) {
            return;
        }
        if (isMax && g.oh == g.h / 2 && g.ow == g.w / 2 && p.kernelH() == 2 && p.kernelW() == 2 && p.strideH() == 2
                && p.strideW() == 2 && p.padTop() == 0 && p.padLeft() == 0 && p.padBottom() == 0
                && p.padRight() == 0 && p.dilationH() == 1 && p.dilationW() == 1 && planes >= 2 * pool.threads()) {
            maxPool2x2(pool, in, out, g.h, g.w, planes);
            return;
        }
        // Few planes (batch 1, few channels) would leave threads idle: split planes into row blocks too.
        int rowBlocks = Math.min(g.oh, Math.max(1, (2 * pool.threads() + planes - 1) / planes));
        long cost = (long) planes * g.oh * ((long) p.kernelH() * g.w + (long) p.kernelW() * g.ow);
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        // 3-wide max windows at stride 2 (ResNet's stem): the column buffer split into even and odd positions, so
        // that each output vector is two maxima of three loads instead of a stride-1 pass and a scalar pick
        boolean max3s2 = isMax && g.kw == 3 && g.sw == 2 && g.dw == 1;
        Chunks.run(pool, planes * rowBlocks, cost, (from, to) -> {
            float[] col = max3s2 ? g.newColumnBuffer(2 * F) : g.newColumnBuffer();
            float[] row = new float[(g.ow - 1) * g.sw + 1];
            float[] evens = max3s2 ? new float[col.length / 2] : null;
            float[] odds = max3s2 ? new float[col.length / 2] : null;
            for (int u = from; u < to; u++) {
                int pi = u / rowBlocks, rb = u % rowBlocks;
                int y0 = (int) ((long) g.oh * rb / rowBlocks), y1 = (int) ((long) g.oh * (rb + 1) / rowBlocks);
                long planeIn = io + (long) pi * g.h * g.w, planeOut = oo + (long) pi * g.oh * g.ow;
                for (int oy = y0; oy < y1; oy++) {
                    verticalPass(g, src, planeIn, oy, col);
                    if (max3s2) {
                        max3Stride2(g, col, evens, odds, row, dst, planeOut + (long) oy * g.ow);
                    } else {
                        horizontalPass(g, col, row, oy, dst, planeOut + (long) oy * g.ow);
                    }
                }
            }
        });
    }

    /**
     * {@code out[ox] = max(col[2ox], col[2ox+1], col[2ox+2])} for ox < ow: col (length a multiple of 2F, identity
     * past the columns windows read) split by vector permutes into its even and odd positions, then
     * {@code max(max(E[ox], O[ox]), E[ox+1])}, with {@code Math.max}'s semantics as the other paths.
     */
    private static void max3Stride2(Geometry g, float[] col, float[] evens, float[] odds, float[] row,
                                    MemorySegment dst, long rowOut) {
        Simd.splitEvenOdd(col, col.length, evens, odds);
        int ow = g.ow, ox = 0;
        // evens[ox + 1] is read up to ox + F: evens holds col.length / 2 >= ow + F values
        for (; ox + F <= ow; ox += F) {
            FloatVector.fromArray(S, evens, ox).max(FloatVector.fromArray(S, odds, ox))
                    .max(FloatVector.fromArray(S, evens, ox + 1)).intoMemorySegment(dst, (rowOut + ox) * 4, LE);
        }
        for (; ox < ow; ox++) {
            row[ox] = Math.max(Math.max(evens[ox], odds[ox]), evens[ox + 1]);
        }
        int done = ow - ow % F;
        if (done < ow) {
            MemorySegment.copy(row, done, dst, FL, (rowOut + done) * 4, ow - done);
        }
    }

    /**
     * 2×2 max pooling with stride 2 and no padding, plane by plane: each output the maximum of its four inputs
     * ({@code Math.max} semantics, as the separable path: the same values, NaN included), F outputs at a time from
     * each row pair split into even and odd columns by permutes (the separable path leaves narrow planes, 14 or 28
     * wide, mostly to its scalar tails).
     */
    private static void maxPool2x2(ThreadPool pool, Tensor in, Tensor out, int h, int w, int planes) {
        int oh = h / 2, ow = w / 2;
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        Chunks.run(pool, planes, (long) planes * h * w, (from, to) -> {
            FloatVector even = FloatVector.fromArray(S, Simd.EVEN_LANES, 0);
            FloatVector odd = FloatVector.fromArray(S, Simd.ODD_LANES, 0);
            for (int pi = from; pi < to; pi++) {
                long planeIn = io + (long) pi * h * w, planeOut = oo + (long) pi * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    long r0 = (planeIn + 2L * oy * w) * 4, r1 = r0 + 4L * w, o = (planeOut + (long) oy * ow) * 4;
                    for (int ox = 0; ox < ow; ox += F) {
                        int n = Math.min(F, ow - ox);
                        VectorMask<Float> first = S.indexInRange(0, 2 * n), second = S.indexInRange(F, 2 * n);
                        long at = 8L * ox;
                        FloatVector p = FloatVector.fromMemorySegment(S, src, r0 + at, LE, first);
                        FloatVector q = FloatVector.fromMemorySegment(S, src, r0 + at + 4L * F, LE, second);
                        FloatVector top = even.selectFrom(p, q).max(odd.selectFrom(p, q));
                        p = FloatVector.fromMemorySegment(S, src, r1 + at, LE, first);
                        q = FloatVector.fromMemorySegment(S, src, r1 + at + 4L * F, LE, second);
                        FloatVector bottom = even.selectFrom(p, q).max(odd.selectFrom(p, q));
                        top.max(bottom).intoMemorySegment(dst, o + 4L * ox, LE, S.indexInRange(0, n));
                    }
                }
            }
        });
    }

    /**
     * Window geometry of one call, with the column-buffer layout and the divisors precomputed. The column buffer
     * holds one reduced row at offset {@code padLeft}, with the left padding before it and the right padding
     * (plus any ceil-mode overhang) after it filled with the identity of the reduction.
     */
    private static final class Geometry {
        final int h, w, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw;
        final boolean isMax;
        final float identity;
        final int colLen;
        /** Per output column: the horizontal divisor (average pooling), else null. */
        final float[] divW;
        private final boolean includePad;
        private final int pb;

        Geometry(ConvParams p, int h, int w, int oh, int ow, boolean isMax, boolean includePad) {
            this.h = h;
            this.w = w;
            this.oh = oh;
            this.ow = ow;
            this.kh = p.kernelH();
            this.kw = p.kernelW();
            this.sh = p.strideH();
            this.sw = p.strideW();
            this.pt = p.padTop();
            this.pl = p.padLeft();
            this.pb = p.padBottom();
            this.dh = p.dilationH();
            this.dw = p.dilationW();
            this.isMax = isMax;
            this.includePad = includePad;
            this.identity = isMax ? Float.NEGATIVE_INFINITY : 0f;
            this.colLen = Math.max(pl + w, (ow - 1) * sw + (kw - 1) * dw + 1);
            if (isMax) {
                divW = null;
            } else {
                divW = new float[ow];
                for (int ox = 0; ox < ow; ox++) {
                    divW[ox] = taps(ox * sw, kw, dw, includePad ? 0 : pl, includePad ? pl + w + p.padRight() : pl + w);
                }
            }
        }

        /** How many of the taps {@code start + k·dil} ({@code k < n}) fall in {@code [lo, hi)}. */
        static int taps(int start, int n, int dil, int lo, int hi) {
            int c = 0;
            for (int k = 0; k < n; k++) {
                int pos = start + k * dil;
                if (pos >= lo && pos < hi) {
                    c++;
                }
            }
            return c;
        }

        float divisorH(int oy) {
            return isMax ? 1f : taps(oy * sh, kh, dh, includePad ? 0 : pt, includePad ? pt + h + pb : pt + h);
        }

        float[] newColumnBuffer() {
            float[] col = new float[colLen];
            Arrays.fill(col, identity);
            return col;
        }

        /** A column buffer whose length is a multiple of {@code multiple}, with at least that much slack. */
        float[] newColumnBuffer(int multiple) {
            float[] col = new float[(colLen + 2 * multiple - 1) / multiple * multiple];
            Arrays.fill(col, identity);
            return col;
        }
    }

    /** Reduces the input rows of output row {@code oy}'s window into {@code col[pl, pl + w)}. */
    private static void verticalPass(Geometry g, MemorySegment src, long planeIn, int oy, float[] col) {
        boolean first = true;
        for (int ky = 0; ky < g.kh; ky++) {
            int iy = oy * g.sh - g.pt + ky * g.dh;
            if (iy < 0 || iy >= g.h) {
                continue;
            }
            long rowIn = planeIn + (long) iy * g.w;
            if (first) {
                MemorySegment.copy(src, FL, rowIn * 4, col, g.pl, g.w);
                first = false;
            } else if (g.isMax) {
                maxInto(src, rowIn, col, g.pl, g.w);
            } else {
                addInto(src, rowIn, col, g.pl, g.w);
            }
        }
        if (first) {
            Arrays.fill(col, g.pl, g.pl + g.w, g.identity);
        }
    }

    private static void maxInto(MemorySegment src, long rowIn, float[] col, int at, int n) {
        int up = S.loopBound(n), x = 0;
        for (; x < up; x += F) {
            FloatVector.fromMemorySegment(S, src, (rowIn + x) * 4, LE).max(FloatVector.fromArray(S, col, at + x))
                    .intoArray(col, at + x);
        }
        for (; x < n; x++) {
            col[at + x] = Math.max(col[at + x], src.getAtIndex(FL, rowIn + x));
        }
    }

    private static void addInto(MemorySegment src, long rowIn, float[] col, int at, int n) {
        int up = S.loopBound(n), x = 0;
        for (; x < up; x += F) {
            FloatVector.fromMemorySegment(S, src, (rowIn + x) * 4, LE).add(FloatVector.fromArray(S, col, at + x))
                    .intoArray(col, at + x);
        }
        for (; x < n; x++) {
            col[at + x] += src.getAtIndex(FL, rowIn + x);
        }
    }

    /**
     * The horizontal pass of output row {@code oy}: a stride-1 pass over every position a window can start at
     * (vectorised), then, for strides above 1, a scalar pick of every {@code sw}-th position, then the divisor.
     * Computing the positions in between costs {@code sw} times the vector work but avoids a scalar window loop per
     * output, whose chain of dependent NaN-propagating maxima is slow.
     */
    private static void horizontalPass(Geometry g, float[] col, float[] row, int oy, MemorySegment dst, long rowOut) {
        int span = (g.ow - 1) * g.sw + 1;
        if (g.isMax) {
            maxRun(g, col, row, span);
        } else {
            sumRun(g, col, row, span);
        }
        if (g.sw > 1) {
            for (int ox = 1; ox < g.ow; ox++) {
                row[ox] = row[ox * g.sw];
            }
        }
        if (g.isMax) {
            MemorySegment.copy(row, 0, dst, FL, rowOut * 4, g.ow);
        } else {
            divideInto(g, row, g.divisorH(oy), dst, rowOut);
        }
    }

    /**
     * {@code row[p] = max_kx col[p + kx·dw]} for {@code p < n}. Max and sum have a method each so that the loop
     * carries no branch.
     */
    private static void maxRun(Geometry g, float[] col, float[] row, int n) {
        int up = S.loopBound(n), p = 0;
        for (; p < up; p += F) {
            FloatVector acc = FloatVector.fromArray(S, col, p);
            for (int kx = 1; kx < g.kw; kx++) {
                acc = acc.max(FloatVector.fromArray(S, col, p + kx * g.dw));
            }
            acc.intoArray(row, p);
        }
        for (; p < n; p++) {
            float acc = col[p];
            for (int kx = 1; kx < g.kw; kx++) {
                acc = Math.max(acc, col[p + kx * g.dw]);
            }
            row[p] = acc;
        }
    }

    /** {@code row[p] = Σ_kx col[p + kx·dw]} for {@code p < n}. */
    private static void sumRun(Geometry g, float[] col, float[] row, int n) {
        int up = S.loopBound(n), p = 0;
        for (; p < up; p += F) {
            FloatVector acc = FloatVector.fromArray(S, col, p);
            for (int kx = 1; kx < g.kw; kx++) {
                acc = acc.add(FloatVector.fromArray(S, col, p + kx * g.dw));
            }
            acc.intoArray(row, p);
        }
        for (; p < n; p++) {
            float acc = col[p];
            for (int kx = 1; kx < g.kw; kx++) {
                acc += col[p + kx * g.dw];
            }
            row[p] = acc;
        }
    }

    /** {@code out[ox] = row[ox] / (divW[ox] · divH)}. */
    private static void divideInto(Geometry g, float[] row, float divH, MemorySegment dst, long rowOut) {
        int up = S.loopBound(g.ow), ox = 0;
        for (; ox < up; ox += F) {
            FloatVector.fromArray(S, row, ox).div(FloatVector.fromArray(S, g.divW, ox).mul(divH))
                    .intoMemorySegment(dst, (rowOut + ox) * 4, LE);
        }
        for (; ox < g.ow; ox++) {
            dst.setAtIndex(FL, rowOut + ox, row[ox] / (g.divW[ox] * divH));
        }
    }
}
