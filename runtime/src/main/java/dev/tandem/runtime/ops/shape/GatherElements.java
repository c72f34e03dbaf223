package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * GatherElements (opset 11+; any data type, int32/int64 indices): {@code out[i][j][k] = data[i][idx[i][j][k]][k]}
 * along {@code axis}; the output has the indices' shape.
 */
public final class GatherElements implements Op {
    @Override
    public String type() {
        return "GatherElements";
    }

    @Override
    public int minOpset() {
        return 11;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape data = ctx.shape(0);
        Shape idx = ctx.shape(1);
        ctx.requireType(1, DType.INT64, DType.INT32);
        int r = data.rank();
        if (idx.rank() != r || r == 0) {
            throw ctx.fail("indices " + idx + " must have the rank of data " + data + " (>= 1)");
        }
        int axis = ShapeSupport.axis(ctx, ctx.attrInt("axis", 0), r);
        long[] ds = data.contiguousStrides();
        int[] dims = idx.dims();
        int n = data.dim(axis);
        String name = ctx.node().describe();
        for (int a = 0; a < r; a++) {
            if (a != axis && idx.dim(a) > data.dim(a)) {
                throw ctx.fail("indices " + idx + " exceed data " + data + " on axis " + a);
            }
        }
        return Prepared.of(ctx.dtype(0), idx, (x, y) -> {
            long total = idx.size();
            int[] p = new int[r];
            for (long i = 0; i < total; i++) {
                long v = Elements.getLong(x[1], i);
                if (v < -n || v >= n) {
                    throw new IllegalArgumentException(name + ": index " + v + " out of range for axis size " + n);
                }
                if (v < 0) {
                    v += n;
                }
                long src = 0;
                for (int a = 0; a < r; a++) {
                    src += (a == axis ? v : p[a]) * ds[a];
                }
                Elements.copy(x[0], src, y[0], i, 1);
                for (int a = r - 1; a >= 0; a--) {
                    if (++p[a] < dims[a]) {
                        break;
                    }
                    p[a] = 0;
                }
            }
        });
    }
}
