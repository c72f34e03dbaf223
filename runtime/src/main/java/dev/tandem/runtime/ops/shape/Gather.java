package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * Gather (any data type; int32/int64 indices, negative counting from the end): output shape
 * {@code data[:axis] + indices + data[axis+1:]}, one block copy per index. An out-of-range index fails the run.
 */
public final class Gather implements Op {
    @Override
    public String type() {
        return "Gather";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape data = ctx.shape(0);
        Shape idx = ctx.shape(1);
        ctx.requireType(1, DType.INT64, DType.INT32);
        int r = data.rank();
        if (r == 0) {
            throw ctx.fail("data must have rank >= 1");
        }
        int axis = ShapeSupport.axis(ctx, ctx.attrInt("axis", 0), r);
        int[] out = new int[r - 1 + idx.rank()];
        int j = 0;
        for (int a = 0; a < axis; a++) {
            out[j++] = data.dim(a);
        }
        for (int a = 0; a < idx.rank(); a++) {
            out[j++] = idx.dim(a);
        }
        for (int a = axis + 1; a < r; a++) {
            out[j++] = data.dim(a);
        }
        long outer = ShapeSupport.product(data.dims(), 0, axis);
        long inner = ShapeSupport.product(data.dims(), axis + 1, r);
        int n = data.dim(axis);
        long count = idx.size();
        String name = ctx.node().describe();
        return Prepared.of(ctx.dtype(0), Shape.of(out), (x, y) -> {
            long[] ix = new long[(int) count];
            for (int i = 0; i < count; i++) {
                long v = Elements.getLong(x[1], i);
                if (v < -n || v >= n) {
                    throw new IllegalArgumentException(name + ": index " + v + " out of range for axis size " + n);
                }
                ix[i] = v < 0 ? v + n : v;
            }
            for (long o = 0; o < outer; o++) {
                for (int i = 0; i < count; i++) {
                    Elements.copy(x[0], (o * n + ix[i]) * inner, y[0], (o * count + i) * inner, inner);
                }
            }
        });
    }
}
