package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * PRelu (opset 1+): {@code x < 0 ? slope * x : x}, the slope broadcast to X's shape (unidirectional numpy
 * broadcasting; the output has X's shape; before opset 7 a 1-D slope of X's channel count applies per channel,
 * axis 1). Types: float32/float64, and (opset 9+) int32/int64 computed exactly.
 */
final class PRelu implements Op {
    @Override
    public String type() {
        return "PRelu";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64);
        Broadcasting.requireSameType(ctx, 0, 1);
        Shape xs = ctx.shape(0), ss = ctx.shape(1);
        if (ctx.opset() < 7 && ss.rank() == 1 && xs.rank() >= 2 && ss.dim(0) == xs.dim(1) && ss.dim(0) != 1) {
            // PRelu-6 and before (Caffe2): a 1-D slope holds one value per channel (axis 1)
            int[] d = new int[xs.rank() - 1];
            java.util.Arrays.fill(d, 1);
            d[0] = ss.dim(0);
            ss = Shape.of(d);
        }
        Shape slopeShape = ss;
        boolean legacy = !ss.equals(ctx.shape(1));
        Shape b = Broadcasting.shape(ctx, xs, ss);
        if (!b.equals(xs)) {
            throw ctx.fail("slope of shape " + ss + " does not broadcast to X of shape " + xs);
        }
        boolean exact = Broadcasting.isIntegral(t);
        return Prepared.of(t, xs, (in, out) -> {
            Tensor x = in[0], s = legacy ? Broadcasting.reshaped(in[1], slopeShape) : in[1], r = out[0];
            Broadcasting.forEachRow(xs, new Tensor[]{x, s}, (offs, steps, oi, len) -> {
                long px = offs[0], ps = offs[1];
                for (int j = 0; j < len; j++, px += steps[0], ps += steps[1]) {
                    if (exact) {
                        long v = Elements.getLong(x, px);
                        Elements.setLong(r, oi + j, v < 0 ? v * Elements.getLong(s, ps) : v);
                    } else {
                        double v = Elements.getDouble(x, px);
                        Elements.setDouble(r, oi + j, v < 0 ? v * Elements.getDouble(s, ps) : v);
                    }
                }
            });
        });
    }
}
