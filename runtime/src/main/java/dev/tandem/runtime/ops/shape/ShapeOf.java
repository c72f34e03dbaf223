package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * Shape: the input's dimensions as a 1-D int64 tensor, {@code dims[start:end]} from opset 15 (negative counting
 * from the end, clamped). The kernel never reads its input (the dimensions are fixed at preparation), so a planner
 * may run it to fold shape arithmetic with the input still unknown.
 */
public final class ShapeOf implements Op {
    @Override
    public String type() {
        return "Shape";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        int[] dims = ctx.shape(0).dims();
        int r = dims.length;
        long start = ctx.opset() >= 15 ? ctx.attrInt("start", 0) : 0;
        long end = ctx.opset() >= 15 ? ctx.attrInt("end", r) : r;
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        int s = (int) start;
        int n = (int) Math.max(0, end - start);
        return Prepared.of(DType.INT64, Shape.of(n), (x, y) -> {
            for (int i = 0; i < n; i++) {
                Elements.setLong(y[0], i, dims[s + i]);
            }
        });
    }
}
