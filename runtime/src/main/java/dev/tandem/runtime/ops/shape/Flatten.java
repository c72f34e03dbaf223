package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;

/** Flatten (opset 1+; negative axis from 11): any type, to 2-D {@code [prod(d[0:axis]), prod(d[axis:])]}, no copy. */
public final class Flatten implements Op {
    @Override
    public String type() {
        return "Flatten";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        long axis = ctx.attrInt("axis", 1);
        if (axis < 0) {
            axis += in.rank();
        }
        if (axis < 0 || axis > in.rank()) {
            throw ctx.fail("axis " + ctx.attrInt("axis", 1) + " out of range for rank " + in.rank());
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= in.dim(i);
        }
        long inner = 1;
        for (int i = (int) axis; i < in.rank(); i++) {
            inner *= in.dim(i);
        }
        return Prepared.alias(0, ctx.dtype(0), Shape.of(Math.toIntExact(outer), Math.toIntExact(inner)));
    }
}
