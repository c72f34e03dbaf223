package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/**
 * Tile (opset 6+, any type): repeats the input {@code repeats[i]} times along each axis (input 1, known at plan
 * time). The output {@code [r0·d0, r1·d1, ...]} is viewed as {@code [r0, d0, r1, d1, ...]} and filled from the
 * input with stride 0 on the repeat axes.
 */
public final class Tile implements Op {
    @Override
    public String type() {
        return "Tile";
    }

    @Override
    public int minOpset() {
        return 6;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        long[] rep = ctx.constantLongs(1, "repeats");
        int r = in.rank();
        if (rep.length != r) {
            throw ctx.fail("repeats " + java.util.Arrays.toString(rep) + " must have one entry per input axis ("
                    + r + ")");
        }
        int[] out = new int[r];
        int[] dims = new int[2 * r];
        long[] strides = new long[2 * r];
        long[] inStrides = in.contiguousStrides();
        for (int i = 0; i < r; i++) {
            int k = ShapeSupport.toInt(ctx, rep[i], "repeat");
            out[i] = Math.multiplyExact(k, in.dim(i));
            dims[2 * i] = k;
            dims[2 * i + 1] = in.dim(i);
            strides[2 * i] = 0;
            strides[2 * i + 1] = inStrides[i];
        }
        return Prepared.of(ctx.dtype(0), Shape.of(out), (x, y) -> StridedCopy.copy(x[0], 0, strides, dims, y[0]));
    }
}
