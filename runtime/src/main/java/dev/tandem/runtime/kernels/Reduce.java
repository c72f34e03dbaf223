package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions of a float32 tensor: sum, mean, max and min over any set of axes, and the index of the maximum or
 * minimum along one axis.
 *
 * <p><b>Shapes.</b> Axes may be negative (counted from the end) and must not repeat. An empty axis list reduces
 * every axis (ONNX's default; for ONNX's {@code noop_with_empty_axes} the caller copies instead). With
 * {@code keepDims} the reduced axes stay with size 1, otherwise they are removed ({@link #outputShape}). The input
 * may have any strides; the output is contiguous: float32 for {@link #reduce}, int64 for {@link #argMax} and
 * {@link #argMin}.
 *
 * <p><b>Values.</b> Sums are accumulated with Kahan compensation (vector paths) or in double (scalar path) and
 * rounded once; the mean divides the sum by the element count. MAX and MIN propagate NaN. Reducing an empty set
 * gives 0 for SUM, NaN for MEAN, {@code -inf} for MAX and {@code +inf} for MIN (ONNX ReduceMax/ReduceMin-18).
 * ArgMax/ArgMin return the first index of the extreme value, or the last with {@code selectLastIndex}; NaN counts
 * as the extreme (as numpy and PyTorch), so a slice holding NaN gives the index of its first (last) NaN.
 *
 * <p><b>Paths.</b> After dropping size-1 axes and merging neighbours, a reduction whose innermost axis is reduced
 * and contiguous reduces vectorised runs; one whose innermost axis is kept and contiguous accumulates whole rows at
 * once, vectorised along that axis (e.g. NCHW over C); anything else (a strided innermost axis) is scalar. ArgMax
 * and ArgMin are scalar.
 *
 * <p>Stateless; calls may run concurrently on distinct outputs. The scalar reference is
 * {@link dev.tandem.runtime.kernels.reference.ReferenceReduce}.
 */
public final class Reduce {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfLong LL = ValueLayout.JAVA_LONG_UNALIGNED;
    /** Columns of a row accumulated at once when the innermost axis is kept (bounds the scratch arrays). */
    private static final int COLUMN_BLOCK = 1024;

    /** The float reductions. */
    public enum Op {
        SUM, MEAN, MAX, MIN;

        /** The result of reducing no elements. */
        float empty() {
            return switch (this) {
                case SUM -> 0f;
                case MEAN -> Float.NaN;
                case MAX -> Float.NEGATIVE_INFINITY;
                case MIN -> Float.POSITIVE_INFINITY;
            };
        }

        private String onnxName() {
            return switch (this) {
                case SUM -> "ReduceSum";
                case MEAN -> "ReduceMean";
                case MAX -> "ReduceMax";
                case MIN -> "ReduceMin";
            };
        }
    }

    private Reduce() {
    }

    /**
     * The shape of reducing {@code in} over {@code axes}.
     *
     * @throws IllegalArgumentException when an axis is out of range or repeated
     */
    public static Shape outputShape(Shape in, int[] axes, boolean keepDims) {
        boolean[] red = reducedAxes("Reduce", in, axes);
        int[] d = new int[in.rank()];
        int m = 0;
        for (int i = 0; i < in.rank(); i++) {
            if (!red[i]) {
                d[m++] = in.dim(i);
            } else if (keepDims) {
                d[m++] = 1;
            }
        }
        return Shape.of(Arrays.copyOf(d, m));
    }

    /** The shape of ArgMax/ArgMin of {@code in} along {@code axis}. */
    public static Shape argOutputShape(Shape in, int axis, boolean keepDims) {
        return outputShape(in, new int[]{in.normalizeAxis(axis)}, keepDims);
    }

    private static boolean[] reducedAxes(String op, Shape in, int[] axes) {
        boolean[] red = new boolean[in.rank()];
        if (axes.length == 0) {
            Arrays.fill(red, true);
            return red;
        }
        for (int a : axes) {
            int ax;
            try {
                ax = in.normalizeAxis(a);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(op + ": " + e.getMessage(), e);
            }
            if (red[ax]) {
                throw new IllegalArgumentException(op + ": axis " + a + " repeated in axes " + Arrays.toString(axes)
                        + " for shape " + in);
            }
            red[ax] = true;
        }
        return red;
    }

    /**
     * {@code out = op(in)} over {@code axes}.
     *
     * @param out contiguous float32 of shape {@link #outputShape}{@code (in.shape(), axes, keepDims)}
     * @throws IllegalArgumentException when a dtype or shape is wrong or an axis is invalid (the message names the
     *                                  shapes)
     */
    public static void reduce(ThreadPool pool, Op op, Tensor in, int[] axes, boolean keepDims, Tensor out) {
        String name = op.onnxName();
        TensorChecks.requireFloat(name, "input", in);
        boolean[] red = reducedAxes(name, in.shape(), axes);
        TensorChecks.requireContiguous(name, "output", out, outputShape(in.shape(), axes, keepDims));
        Layout l = Layout.of(in, red);
        MemorySegment src = in.segment(), dst = out.segment();
        long oo = out.offset();
        if (l.outCount == 0) {
            return;
        }
        if (l.count == 0) {
            for (long i = 0; i < l.outCount; i++) {
                dst.setAtIndex(FL, oo + i, op.empty());
            }
            return;
        }
        int m = l.dims.length;
        if (m > 0 && l.red[m - 1] && l.strides[m - 1] == 1) {
            reduceRuns(pool, op, l, src, in.offset(), dst, oo);
        } else if (m > 0 && !l.red[m - 1] && l.strides[m - 1] == 1) {
            reduceRows(pool, op, l, src, in.offset(), dst, oo);
        } else {
            reduceScalar(pool, op, l, src, in.offset(), dst, oo);
        }
    }

    /**
     * The input's axes with size-1 axes dropped and neighbours of the same kind merged where the strides allow, and
     * the walks over kept and reduced axes. Output order is kept-axis order, so the output index of a kept
     * multi-index is its row-major number.
     */
    private static final class Layout {
        final long[] dims;
        final long[] strides;
        final boolean[] red;
        final long count;
        final long outCount;

        private Layout(long[] dims, long[] strides, boolean[] red) {
            this.dims = dims;
            this.strides = strides;
            this.red = red;
            long c = 1, o = 1;
            for (int i = 0; i < dims.length; i++) {
                if (red[i]) {
                    c *= dims[i];
                } else {
                    o *= dims[i];
                }
            }
            this.count = c;
            this.outCount = o;
        }

        static Layout of(Tensor in, boolean[] reduced) {
            int r = in.rank();
            long[] st = in.strides();
            long[] d = new long[r], s = new long[r];
            boolean[] rd = new boolean[r];
            int m = 0;
            for (int i = 0; i < r; i++) {
                long di = in.shape().dim(i);
                if (di == 1) {
                    continue;
                }
                if (m > 0 && rd[m - 1] == reduced[i] && s[m - 1] == st[i] * di) {
                    d[m - 1] *= di;
                    s[m - 1] = st[i];
                } else {
                    d[m] = di;
                    s[m] = st[i];
                    rd[m] = reduced[i];
                    m++;
                }
            }
            return new Layout(Arrays.copyOf(d, m), Arrays.copyOf(s, m), Arrays.copyOf(rd, m));
        }

        /** A walk over the axes of one kind ({@code reduced}), leaving out the innermost axis when {@code dropLast}. */
        Walk walk(boolean reduced, boolean dropLast) {
            int m = dims.length - (dropLast ? 1 : 0);
            long[] wd = new long[m], ws = new long[m];
            int k = 0;
            for (int i = 0; i < m; i++) {
                if (red[i] == reduced) {
                    wd[k] = dims[i];
                    ws[k] = strides[i];
                    k++;
                }
            }
            return new Walk(Arrays.copyOf(wd, k), Arrays.copyOf(ws, k));
        }
    }

    /** An odometer over some axes, tracking the element offset of the current multi-index. */
    private static final class Walk {
        private final long[] dims;
        private final long[] strides;
        private final long[] idx;
        long offset;

        Walk(long[] dims, long[] strides) {
            this.dims = dims;
            this.strides = strides;
            this.idx = new long[dims.length];
        }

        /** Number of multi-indices. */
        long size() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }

        void seek(long linear) {
            offset = 0;
            for (int d = dims.length - 1; d >= 0; d--) {
                idx[d] = linear % dims[d];
                linear /= dims[d];
                offset += idx[d] * strides[d];
            }
        }

        void next() {
            for (int d = dims.length - 1; d >= 0; d--) {
                offset += strides[d];
                if (++idx[d] < dims[d]) {
                    return;
                }
                offset -= dims[d] * strides[d];
                idx[d] = 0;
            }
        }
    }

    /** Innermost axis reduced and contiguous: each output reduces some contiguous runs. */
    private static void reduceRuns(ThreadPool pool, Op op, Layout l, MemorySegment src, long io, MemorySegment dst,
                                   long oo) {
        int len = Math.toIntExact(l.dims[l.dims.length - 1]);
        long runs = l.count / len;
        Chunks.run(pool, Math.toIntExact(l.outCount), l.outCount * l.count, (from, to) -> {
            Walk kept = l.walk(false, false);
            Walk rest = l.walk(true, true);
            kept.seek(from);
            for (int u = from; u < to; u++) {
                long base = io + kept.offset;
                rest.seek(0);
                double sum = 0;
                float ext = op == Op.MAX ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
                for (long r = 0; r < runs; r++) {
                    long at = base + rest.offset;
                    switch (op) {
                        case SUM, MEAN -> sum += RunReductions.sum(src, at, len);
                        case MAX -> ext = Math.max(ext, RunReductions.max(src, at, len));
                        case MIN -> ext = Math.min(ext, RunReductions.min(src, at, len));
                    }
                    rest.next();
                }
                float v = switch (op) {
                    case SUM -> (float) sum;
                    case MEAN -> (float) (sum / l.count);
                    case MAX, MIN -> ext;
                };
                dst.setAtIndex(FL, oo + u, v);
                kept.next();
            }
        });
    }

    /**
     * Innermost axis kept and contiguous: each output row is accumulated from input rows, a block of columns at a
     * time, vectorised along the columns.
     */
    private static void reduceRows(ThreadPool pool, Op op, Layout l, MemorySegment src, long io, MemorySegment dst,
                                   long oo) {
        int len = Math.toIntExact(l.dims[l.dims.length - 1]);
        int blocks = (len + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
        long rows = l.outCount / len;
        Chunks.run(pool, Math.toIntExact(rows * blocks), l.outCount * l.count, (from, to) -> {
            Walk kept = l.walk(false, true);
            Walk reduced = l.walk(true, false);
            int width = Math.min(len, COLUMN_BLOCK);
            float[] acc = new float[width];
            float[] comp = op == Op.SUM || op == Op.MEAN ? new float[width] : null;
            for (int u = from; u < to; u++) {
                long row = u / blocks;
                int c0 = (u % blocks) * COLUMN_BLOCK, n = Math.min(COLUMN_BLOCK, len - c0);
                kept.seek(row);
                long base = io + kept.offset + c0;
                reduced.seek(0);
                MemorySegment.copy(src, FL, (base + reduced.offset) * 4, acc, 0, n);
                if (comp != null) {
                    Arrays.fill(comp, 0, n, 0f);
                }
                for (long r = 1; r < l.count; r++) {
                    reduced.next();
                    long at = base + reduced.offset;
                    switch (op) {
                        case SUM, MEAN -> kahanAdd(src, at, acc, comp, n);
                        case MAX -> maxInto(src, at, acc, n);
                        case MIN -> minInto(src, at, acc, n);
                    }
                }
                long outAt = oo + row * len + c0;
                if (comp == null) {
                    MemorySegment.copy(acc, 0, dst, FL, outAt * 4, n);
                    continue;
                }
                double div = op == Op.MEAN ? l.count : 1;
                for (int i = 0; i < n; i++) {
                    double sum = (double) acc[i] - comp[i];
                    if (sum != sum) {
                        sum = plainSum(l, src, base + i);
                    }
                    dst.setAtIndex(FL, outAt + i, (float) (sum / div));
                }
            }
        });
    }

    /** The sum over the reduced axes from element {@code at}, in double, without compensation. */
    private static double plainSum(Layout l, MemorySegment src, long at) {
        Walk reduced = l.walk(true, false);
        double sum = 0;
        for (long r = 0; r < l.count; r++) {
            sum += src.getAtIndex(FL, at + reduced.offset);
            reduced.next();
        }
        return sum;
    }

    /**
     * {@code acc += row} with Kahan compensation in {@code comp}. An infinite element turns the compensation into
     * NaN ({@code inf - inf}); the caller detects a NaN result and recomputes that column plainly.
     */
    private static void kahanAdd(MemorySegment src, long at, float[] acc, float[] comp, int n) {
        int up = S.loopBound(n), i = 0;
        for (; i < up; i += F) {
            FloatVector s = FloatVector.fromArray(S, acc, i);
            FloatVector y = FloatVector.fromMemorySegment(S, src, (at + i) * 4, LE)
                    .sub(FloatVector.fromArray(S, comp, i));
            FloatVector t = s.add(y);
            t.sub(s).sub(y).intoArray(comp, i);
            t.intoArray(acc, i);
        }
        for (; i < n; i++) {
            float y = src.getAtIndex(FL, at + i) - comp[i];
            float t = acc[i] + y;
            comp[i] = (t - acc[i]) - y;
            acc[i] = t;
        }
    }

    private static void maxInto(MemorySegment src, long at, float[] acc, int n) {
        int up = S.loopBound(n), i = 0;
        for (; i < up; i += F) {
            FloatVector.fromArray(S, acc, i).max(FloatVector.fromMemorySegment(S, src, (at + i) * 4, LE))
                    .intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] = Math.max(acc[i], src.getAtIndex(FL, at + i));
        }
    }

    private static void minInto(MemorySegment src, long at, float[] acc, int n) {
        int up = S.loopBound(n), i = 0;
        for (; i < up; i += F) {
            FloatVector.fromArray(S, acc, i).min(FloatVector.fromMemorySegment(S, src, (at + i) * 4, LE))
                    .intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] = Math.min(acc[i], src.getAtIndex(FL, at + i));
        }
    }

    /** Any layout: every output visits its elements one by one, summing in double. */
    private static void reduceScalar(ThreadPool pool, Op op, Layout l, MemorySegment src, long io, MemorySegment dst,
                                     long oo) {
        Chunks.run(pool, Math.toIntExact(l.outCount), l.outCount * l.count, (from, to) -> {
            Walk kept = l.walk(false, false);
            Walk reduced = l.walk(true, false);
            kept.seek(from);
            for (int u = from; u < to; u++) {
                reduced.seek(0);
                double sum = 0;
                float ext = op == Op.MAX ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
                for (long r = 0; r < l.count; r++) {
                    float x = src.getAtIndex(FL, io + kept.offset + reduced.offset);
                    sum += x;
                    ext = op == Op.MAX ? Math.max(ext, x) : Math.min(ext, x);
                    reduced.next();
                }
                float v = switch (op) {
                    case SUM -> (float) sum;
                    case MEAN -> (float) (sum / l.count);
                    case MAX, MIN -> ext;
                };
                dst.setAtIndex(FL, oo + u, v);
                kept.next();
            }
        });
    }

    /**
     * The index of the largest element along {@code axis}, as int64.
     *
     * @param out contiguous int64 of shape {@link #argOutputShape}{@code (in.shape(), axis, keepDims)}
     * @throws IllegalArgumentException when a dtype or shape is wrong, the axis is out of range, or the axis is empty
     */
    public static void argMax(ThreadPool pool, Tensor in, int axis, boolean keepDims, boolean selectLastIndex,
                              Tensor out) {
        arg(pool, "ArgMax", true, in, axis, keepDims, selectLastIndex, out);
    }

    /** The index of the smallest element along {@code axis}, as int64; see {@link #argMax}. */
    public static void argMin(ThreadPool pool, Tensor in, int axis, boolean keepDims, boolean selectLastIndex,
                              Tensor out) {
        arg(pool, "ArgMin", false, in, axis, keepDims, selectLastIndex, out);
    }

    private static void arg(ThreadPool pool, String op, boolean max, Tensor in, int axis, boolean keepDims,
                            boolean last, Tensor out) {
        TensorChecks.requireFloat(op, "input", in);
        int ax;
        try {
            ax = in.shape().normalizeAxis(axis);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + e.getMessage(), e);
        }
        TensorChecks.requireContiguous(op, "output", out, DType.INT64, argOutputShape(in.shape(), ax, keepDims));
        int n = in.shape().dim(ax);
        if (out.size() == 0) {
            return;
        }
        if (n == 0) {
            throw new IllegalArgumentException(op + " along axis " + axis + " of shape " + in.shape()
                    + ": the axis is empty");
        }
        long step = in.strides()[ax];
        int r = in.rank();
        long[] kd = new long[r - 1], ks = new long[r - 1];
        for (int i = 0, k = 0; i < r; i++) {
            if (i != ax) {
                kd[k] = in.shape().dim(i);
                ks[k++] = in.strides()[i];
            }
        }
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        int outCount = Math.toIntExact(out.size());
        Chunks.run(pool, outCount, (long) outCount * n, (from, to) -> {
            Walk kept = new Walk(kd, ks);
            kept.seek(from);
            for (int u = from; u < to; u++) {
                long base = io + kept.offset;
                float best = src.getAtIndex(FL, base);
                int bi = 0;
                for (int k = 1; k < n; k++) {
                    float x = src.getAtIndex(FL, base + k * step);
                    if (better(max, last, x, best)) {
                        best = x;
                        bi = k;
                    }
                }
                dst.setAtIndex(LL, oo + u, bi);
                kept.next();
            }
        });
    }

    /** Whether {@code x}, met after {@code best}, replaces it; NaN beats every number. */
    private static boolean better(boolean max, boolean last, float x, float best) {
        if (best != best) {
            return last && x != x;
        }
        if (x != x) {
            return true;
        }
        if (last) {
            return max ? x >= best : x <= best;
        }
        return max ? x > best : x < best;
    }
}
