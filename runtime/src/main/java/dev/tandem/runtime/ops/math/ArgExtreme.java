package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Reduce;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * ArgMax and ArgMin (opset 1+): the int64 index of the largest (smallest) element along {@code axis} (default 0,
 * negative from opset 11), keeping the axis as size 1 with {@code keepdims} (default 1); the first such index, or
 * the last with {@code select_last_index=1} (opset 12+). NaN counts as the extreme, as in {@link Reduce#argMax}.
 * Float32 runs {@link Reduce#argMax}/{@link Reduce#argMin}; other numeric types compare exactly (integers as long,
 * float64 as double).
 */
final class ArgExtreme implements Op {
    private final boolean max;

    ArgExtreme(boolean max) {
        this.max = max;
    }

    @Override
    public String type() {
        return max ? "ArgMax" : "ArgMin";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        Shape in = ctx.shape(0);
        boolean keep = ctx.attrInt("keepdims", 1) != 0;
        boolean last = ctx.attrInt("select_last_index", 0) != 0;
        int ax;
        Shape out;
        try {
            ax = in.normalizeAxis(Math.toIntExact(ctx.attrInt("axis", 0)));
            out = Reduce.argOutputShape(in, ax, keep);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        if (in.dim(ax) == 0 && out.size() > 0) {
            throw ctx.fail("axis " + ax + " of shape " + in + " is empty");
        }
        if (t == DType.FLOAT32) {
            return Prepared.of(DType.INT64, out, (x, o) -> {
                if (max) {
                    Reduce.argMax(ctx.pool(), x[0], ax, keep, last, o[0]);
                } else {
                    Reduce.argMin(ctx.pool(), x[0], ax, keep, last, o[0]);
                }
            });
        }
        boolean exact = Broadcasting.isIntegral(t);
        int n = in.dim(ax);
        long inner = 1;
        for (int d = ax + 1; d < in.rank(); d++) {
            inner *= in.dim(d);
        }
        long innerF = inner;
        return Prepared.of(DType.INT64, out, (xs, o) -> {
            Tensor x = xs[0].contiguous();
            try {
                long outer = out.size() / innerF;
                for (long a = 0; a < outer; a++) {
                    for (long b = 0; b < innerF; b++) {
                        long base = a * n * innerF + b;
                        int best = 0;
                        for (int k = 1; k < n; k++) {
                            long at = base + k * innerF;
                            boolean better;
                            if (exact) {
                                long v = Elements.getLong(x, at), w = Elements.getLong(x, base + best * innerF);
                                better = last ? (max ? v >= w : v <= w) : (max ? v > w : v < w);
                            } else {
                                double v = Elements.getDouble(x, at), w = Elements.getDouble(x, base + best * innerF);
                                better = better(max, last, v, w);
                            }
                            if (better) {
                                best = k;
                            }
                        }
                        Elements.setLong(o[0], a * innerF + b, best);
                    }
                }
            } finally {
                if (x != xs[0]) {
                    x.close();
                }
            }
        });
    }

    /** Whether {@code x}, met after {@code best}, replaces it; NaN beats every number. */
    private static boolean better(boolean max, boolean last, double x, double best) {
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
