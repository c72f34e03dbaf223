package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and log-softmax along one axis of a float32 tensor:
 * {@code softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m)} and
 * {@code logSoftmax(x)_i = (x_i - m) - log Σ_j exp(x_j - m)}, with {@code m} the maximum along the axis, so that no
 * exponential overflows.
 *
 * <p><b>Special values</b> (as PyTorch): {@code -inf} entries get probability 0 (log-probability {@code -inf}); a
 * slice that is all {@code -inf}, or holds NaN or {@code +inf}, gives NaN throughout.
 *
 * <p><b>Tensors.</b> Input and output are contiguous float32 of the same shape, rank at least 1; the output may be
 * the input (in place). The axis may be negative (counted from the end). Seen as {@code [outer, n, inner]} with
 * {@code n} the axis length: when the axis is innermost each slice is a contiguous run and the kernel is
 * vectorised along it; otherwise it is vectorised across {@code inner}, a vector of slices at a time (the
 * {@code inner % lanes} leftover slices are scalar, in double). Sums are Kahan-compensated.
 *
 * <p>Stateless; calls may run concurrently on distinct outputs. The scalar reference is
 * {@link dev.tandem.runtime.kernels.reference.ReferenceSoftmax}.
 */
public final class Softmax {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Rough cost of one element in units of {@link Chunks#PARALLEL_MIN_COST}: an exp and a few flops. */
    private static final int ELEMENT_COST = 8;

    private Softmax() {
    }

    /**
     * {@code out = softmax(in)} along {@code axis}.
     *
     * @throws IllegalArgumentException when a tensor is not contiguous float32, the shapes differ, or the axis is out
     *                                  of range (the message names the shapes)
     */
    public static void softmax(ThreadPool pool, Tensor in, Tensor out, int axis) {
        run(pool, "Softmax", false, in, out, axis);
    }

    /** {@code out = log(softmax(in))} along {@code axis}, computed without forming the softmax. */
    public static void logSoftmax(ThreadPool pool, Tensor in, Tensor out, int axis) {
        run(pool, "LogSoftmax", true, in, out, axis);
    }

    private static void run(ThreadPool pool, String op, boolean log, Tensor in, Tensor out, int axis) {
        if (in.rank() < 1) {
            throw new IllegalArgumentException(op + " input must have rank >= 1; got " + in);
        }
        TensorChecks.requireContiguous(op, "input", in, in.rank(), "of rank " + in.rank());
        TensorChecks.requireContiguous(op, "output", out, in.shape());
        int ax = in.shape().normalizeAxis(axis);
        int n = in.shape().dim(ax);
        long outerL = 1, innerL = 1;
        for (int i = 0; i < ax; i++) {
            outerL *= in.shape().dim(i);
        }
        for (int i = ax + 1; i < in.rank(); i++) {
            innerL *= in.shape().dim(i);
        }
        if (in.size() == 0) {
            return;
        }
        int outer = Math.toIntExact(outerL), inner = Math.toIntExact(innerL);
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        long cost = in.size() * ELEMENT_COST;
        if (inner == 1) {
            Chunks.run(pool, outer, cost, (from, to) -> {
                for (int r = from; r < to; r++) {
                    long off = (long) r * n;
                    row(log, src, io + off, dst, oo + off, n);
                }
            });
            return;
        }
        int full = inner / F;
        int blocks = full + (inner % F == 0 ? 0 : 1);
        Chunks.run(pool, Math.multiplyExact(outer, blocks), cost, (from, to) -> {
            for (int u = from; u < to; u++) {
                int o = u / blocks, b = u % blocks;
                long base = (long) o * n * inner;
                if (b < full) {
                    columns(log, src, io + base + (long) b * F, dst, oo + base + (long) b * F, n, inner);
                } else {
                    for (int j = full * F; j < inner; j++) {
                        column(log, src, io + base + j, dst, oo + base + j, n, inner);
                    }
                }
            }
        });
    }

    /** One contiguous slice of {@code n} elements. */
    private static void row(boolean log, MemorySegment src, long io, MemorySegment dst, long oo, int n) {
        float max = RunReductions.max(src, io, n);
        int up = S.loopBound(n);
        FloatVector mv = FloatVector.broadcast(S, max);
        FloatVector acc = FloatVector.zero(S), comp = FloatVector.zero(S);
        for (int i = 0; i < up; i += F) {
            FloatVector e = FloatVector.fromMemorySegment(S, src, (io + i) * 4, LE).sub(mv)
                    .lanewise(VectorOperators.EXP);
            if (!log) {
                e.intoMemorySegment(dst, (oo + i) * 4, LE);
            }
            FloatVector y = e.sub(comp);
            FloatVector t = acc.add(y);
            comp = t.sub(acc).sub(y);
            acc = t;
        }
        double sum = (double) acc.reduceLanes(VectorOperators.ADD) - (double) comp.reduceLanes(VectorOperators.ADD);
        for (int i = up; i < n; i++) {
            float e = (float) Math.exp(src.getAtIndex(FL, io + i) - max);
            if (!log) {
                dst.setAtIndex(FL, oo + i, e);
            }
            sum += e;
        }
        if (log) {
            subtractRow(src, io, dst, oo, n, max, (float) Math.log(sum));
        } else {
            scaleRow(dst, oo, n, (float) (1 / sum));
        }
    }

    private static void scaleRow(MemorySegment dst, long oo, int n, float scale) {
        int up = S.loopBound(n), i = 0;
        for (; i < up; i += F) {
            FloatVector.fromMemorySegment(S, dst, (oo + i) * 4, LE).mul(scale).intoMemorySegment(dst, (oo + i) * 4, LE);
        }
        for (; i < n; i++) {
            dst.setAtIndex(FL, oo + i, dst.getAtIndex(FL, oo + i) * scale);
        }
    }

    /** {@code out = (x - max) - logSum}: subtracting max first keeps large inputs exact. */
    private static void subtractRow(MemorySegment src, long io, MemorySegment dst, long oo, int n, float max,
                                    float logSum) {
        int up = S.loopBound(n), i = 0;
        for (; i < up; i += F) {
            FloatVector.fromMemorySegment(S, src, (io + i) * 4, LE).sub(max).sub(logSum)
                    .intoMemorySegment(dst, (oo + i) * 4, LE);
        }
        for (; i < n; i++) {
            dst.setAtIndex(FL, oo + i, src.getAtIndex(FL, io + i) - max - logSum);
        }
    }

    /** {@link Simd#F} adjacent slices at once: element {@code k} of slice {@code j} is at {@code k·stride + j}. */
    private static void columns(boolean log, MemorySegment src, long io, MemorySegment dst, long oo, int n,
                                int stride) {
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < n; k++) {
            max = max.max(FloatVector.fromMemorySegment(S, src, (io + (long) k * stride) * 4, LE));
        }
        FloatVector acc = FloatVector.zero(S), comp = FloatVector.zero(S);
        for (int k = 0; k < n; k++) {
            long at = (long) k * stride;
            FloatVector e = FloatVector.fromMemorySegment(S, src, (io + at) * 4, LE).sub(max)
                    .lanewise(VectorOperators.EXP);
            if (!log) {
                e.intoMemorySegment(dst, (oo + at) * 4, LE);
            }
            FloatVector y = e.sub(comp);
            FloatVector t = acc.add(y);
            comp = t.sub(acc).sub(y);
            acc = t;
        }
        FloatVector sum = acc.sub(comp);
        if (log) {
            FloatVector logSum = sum.lanewise(VectorOperators.LOG);
            for (int k = 0; k < n; k++) {
                long at = (long) k * stride;
                FloatVector.fromMemorySegment(S, src, (io + at) * 4, LE).sub(max).sub(logSum)
                        .intoMemorySegment(dst, (oo + at) * 4, LE);
            }
        } else {
            FloatVector inv = sum.broadcast(1f).div(sum);
            for (int k = 0; k < n; k++) {
                long at = (long) k * stride;
                FloatVector.fromMemorySegment(S, dst, (oo + at) * 4, LE).mul(inv)
                        .intoMemorySegment(dst, (oo + at) * 4, LE);
            }
        }
    }

    /** One strided slice, scalar, accumulating in double. */
    private static void column(boolean log, MemorySegment src, long io, MemorySegment dst, long oo, int n,
                               int stride) {
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            max = Math.max(max, src.getAtIndex(FL, io + (long) k * stride));
        }
        double sum = 0;
        for (int k = 0; k < n; k++) {
            sum += Math.exp((double) src.getAtIndex(FL, io + (long) k * stride) - max);
        }
        double logSum = Math.log(sum);
        for (int k = 0; k < n; k++) {
            double d = (double) src.getAtIndex(FL, io + (long) k * stride) - max;
            dst.setAtIndex(FL, oo + (long) k * stride, (float) (log ? d - logSum : Math.exp(d) / sum));
        }
    }
}
