package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;

/**
 * Expand (opset 8+, any type): broadcasts the input with the shape of input 1 (known at plan time) in both
 * directions, numpy style: the output shape is {@code broadcast(input, shape)}.
 */
public final class Expand implements Op {
    @Override
    public String type() {
        return "Expand";
    }

    @Override
    public int minOpset() {
        return 8;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        long[] spec = ctx.constantLongs(1, "the shape");
        int[] target = new int[spec.length];
        for (int i = 0; i < spec.length; i++) {
            target[i] = ShapeSupport.toInt(ctx, spec[i], "dimension");
        }
        Shape out;
        try {
            out = Shape.broadcast(in, Shape.of(target));
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        int r = out.rank();
        int[] dims = out.dims();
        long[] inStrides = in.contiguousStrides();
        long[] strides = new long[r];
        for (int i = 0; i < r; i++) {
            int src = i - (r - in.rank());
            strides[i] = src < 0 || in.dim(src) == 1 ? 0 : inStrides[src];
        }
        if (out.size() == in.size()) {
            return Prepared.alias(0, ctx.dtype(0), out);
        }
        return Prepared.of(ctx.dtype(0), out, (x, y) -> StridedCopy.copy(x[0], 0, strides, dims, y[0]));
    }
}
