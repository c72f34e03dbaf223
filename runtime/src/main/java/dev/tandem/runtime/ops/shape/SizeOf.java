package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * Size: the input's element count as an int64 scalar. Like {@link ShapeOf} it never reads its input, so the planner
 * folds it to a constant.
 */
public final class SizeOf implements Op {
    @Override
    public String type() {
        return "Size";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        long size = ctx.shape(0).size();
        return Prepared.of(DType.INT64, Shape.scalar(), (x, y) -> Elements.setLong(y[0], 0, size));
    }
}
