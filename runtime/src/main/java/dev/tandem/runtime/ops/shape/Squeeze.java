package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;
import java.util.Arrays;

/**
 * Squeeze: removes size-1 axes ({@code axes} attribute before opset 13, optional input 1 from 13; absent: every
 * size-1 axis). Any type, no copy.
 */
public final class Squeeze implements Op {
    @Override
    public String type() {
        return "Squeeze";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        long[] axes = ctx.opset() >= 13 ? (ctx.hasInput(1) ? ctx.constantLongs(1, "axes") : null)
                : ctx.attrInts("axes");
        boolean[] drop = new boolean[in.rank()];
        if (axes == null) {
            for (int i = 0; i < in.rank(); i++) {
                drop[i] = in.dim(i) == 1;
            }
        } else {
            for (long a : axes) {
                int ax = ShapeSupport.axis(ctx, a, in.rank());
                if (in.dim(ax) != 1) {
                    throw ctx.fail("cannot squeeze axis " + a + " of size " + in.dim(ax) + " (input " + in + ")");
                }
                drop[ax] = true;
            }
        }
        int[] out = new int[in.rank()];
        int r = 0;
        for (int i = 0; i < in.rank(); i++) {
            if (!drop[i]) {
                out[r++] = in.dim(i);
            }
        }
        return Prepared.alias(0, ctx.dtype(0), Shape.of(Arrays.copyOf(out, r)));
    }
}
