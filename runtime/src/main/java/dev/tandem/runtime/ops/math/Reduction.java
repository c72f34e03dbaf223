package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Reduce;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Arrays;

/**
 * ReduceSum, ReduceMean, ReduceMax and ReduceMin (opset 1+) over a set of axes, keeping them as size 1 with
 * {@code keepdims} (default 1).
 *
 * <p>Axes come from the {@code axes} attribute before opset 13 (ReduceSum) or 18 (the others), from the optional
 * input 1 (known at plan time) after. No axes means all axes, except that from those versions on
 * {@code noop_with_empty_axes=1} makes the op the identity.
 *
 * <p>Float32 runs {@link Reduce#reduce}; float64 reduces in double, integer types in exact wrap-around long (the
 * integer mean truncates toward zero), bool (Max/Min only) as 0/1. An empty reduction gives 0 (Sum), NaN (float
 * Mean), or the type's lowest/highest value (Max/Min).
 */
final class Reduction implements Op {
    private final Reduce.Op op;

    Reduction(Reduce.Op op) {
        this.op = op;
    }

    @Override
    public String type() {
        return switch (op) {
            case SUM -> "ReduceSum";
            case MEAN -> "ReduceMean";
            case MAX -> "ReduceMax";
            case MIN -> "ReduceMin";
        };
    }

    private int axesInputSince() {
        return op == Reduce.Op.SUM ? 13 : 18;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = op == Reduce.Op.MAX || op == Reduce.Op.MIN ? ctx.dtype(0)
                : Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        Shape in = ctx.shape(0);
        boolean keep = ctx.attrInt("keepdims", 1) != 0;
        long[] axesL;
        if (ctx.opset() < axesInputSince()) {
            axesL = ctx.attrInts("axes");
            if (axesL == null) {
                axesL = new long[0];
            }
        } else {
            axesL = ctx.hasInput(1) ? ctx.constantLongs(1, "axes") : new long[0];
            if (axesL.length == 0 && ctx.attrInt("noop_with_empty_axes", 0) != 0) {
                return Prepared.alias(0, t, in);
            }
        }
        int[] axes = new int[axesL.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = Math.toIntExact(axesL[i]);
        }
        Shape out;
        try {
            out = Reduce.outputShape(in, axes, keep);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        if (t == DType.FLOAT32) {
            return Prepared.of(t, out, (x, o) -> Reduce.reduce(ctx.pool(), op, x[0], axes, keep, o[0]));
        }
        boolean[] reduced = new boolean[in.rank()];
        if (axes.length == 0) {
            Arrays.fill(reduced, true);
        }
        for (int a : axes) {
            reduced[in.normalizeAxis(a)] = true;
        }
        return Prepared.of(t, out, (x, o) -> reduce(op, x[0], reduced, o[0]));
    }

    /** The scalar path: reduces {@code x} over the {@code reduced} axes into contiguous {@code out}. */
    static void reduce(Reduce.Op op, Tensor x, boolean[] reduced, Tensor out) {
        Shape in = x.shape();
        int r = in.rank();
        int outCount = Math.toIntExact(out.size());
        long count = 1;
        long[] outStride = new long[r];
        long acc = 1;
        for (int d = r - 1; d >= 0; d--) {
            if (reduced[d]) {
                count *= in.dim(d);
            } else {
                outStride[d] = acc;
                acc *= in.dim(d);
            }
        }
        boolean exact = Broadcasting.isIntegral(x.dtype());
        double[] dacc = exact ? null : new double[outCount];
        long[] lacc = exact ? new long[outCount] : null;
        double dInit = switch (op) {
            case SUM, MEAN -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
        long lInit = !exact ? 0 : switch (op) {
            case SUM, MEAN -> 0;
            case MAX -> Broadcasting.minOf(x.dtype());
            case MIN -> Broadcasting.maxOf(x.dtype());
        };
        if (exact) {
            Arrays.fill(lacc, lInit);
        } else {
            Arrays.fill(dacc, dInit);
        }
        long[] st = x.strides();
        int[] dims = in.dims();
        int[] idx = new int[r];
        long src = 0, dst = 0;
        for (long n = in.size(); n > 0; n--) {
            int u = (int) dst;
            if (exact) {
                long v = Elements.getLong(x, src);
                lacc[u] = switch (op) {
                    case SUM, MEAN -> lacc[u] + v;
                    case MAX -> Math.max(lacc[u], v);
                    case MIN -> Math.min(lacc[u], v);
                };
            } else {
                double v = Elements.getDouble(x, src);
                dacc[u] = switch (op) {
                    case SUM, MEAN -> dacc[u] + v;
                    case MAX -> Math.max(dacc[u], v);
                    case MIN -> Math.min(dacc[u], v);
                };
            }
            for (int d = r - 1; d >= 0; d--) {
                idx[d]++;
                src += st[d];
                dst += outStride[d];
                if (idx[d] < dims[d]) {
                    break;
                }
                src -= st[d] * idx[d];
                dst -= outStride[d] * idx[d];
                idx[d] = 0;
            }
        }
        for (int u = 0; u < outCount; u++) {
            if (exact) {
                long v = op == Reduce.Op.MEAN ? (count == 0 ? 0 : lacc[u] / count) : lacc[u];
                Elements.setLong(out, u, v);
            } else {
                Elements.setDouble(out, u, op == Reduce.Op.MEAN ? dacc[u] / count : dacc[u]);
            }
        }
    }
}
