package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;

/**
 * Unsqueeze: inserts size-1 axes at {@code axes} (positions in the output; attribute before opset 13, input 1 from
 * 13; negative from 11). Any type, no copy.
 */
public final class Unsqueeze implements Op {
    @Override
    public String type() {
        return "Unsqueeze";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        long[] axes = ctx.opset() >= 13 ? ctx.constantLongs(1, "axes") : ctx.attrInts("axes");
        if (axes == null) {
            throw ctx.fail("the 'axes' attribute is required");
        }
        int rank = in.rank() + axes.length;
        boolean[] inserted = new boolean[rank];
        for (long a : axes) {
            int ax = ShapeSupport.axis(ctx, a, rank);
            if (inserted[ax]) {
                throw ctx.fail("axis " + a + " repeated in " + java.util.Arrays.toString(axes));
            }
            inserted[ax] = true;
        }
        int[] out = new int[rank];
        int j = 0;
        for (int i = 0; i < rank; i++) {
            out[i] = inserted[i] ? 1 : in.dim(j++);
        }
        return Prepared.alias(0, ctx.dtype(0), Shape.of(out));
    }
}
