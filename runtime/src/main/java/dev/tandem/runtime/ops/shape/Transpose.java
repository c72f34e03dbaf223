package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;

/**
 * Transpose (any type): output axis {@code i} is input axis {@code perm[i]} (default: reversed). Axes that stay
 * adjacent are merged and the copy is cache-blocked when the innermost axis moves ({@link StridedCopy}); large
 * tensors are split across the pool along the outermost output axis.
 */
public final class Transpose implements Op {
    @Override
    public String type() {
        return "Transpose";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        int r = in.rank();
        long[] p = ctx.attrInts("perm");
        int[] perm = new int[r];
        if (p == null || p.length == 0 && r > 0) {
            for (int i = 0; i < r; i++) {
                perm[i] = r - 1 - i;
            }
        } else {
            if (p.length != r) {
                throw ctx.fail("perm " + java.util.Arrays.toString(p) + " does not match rank " + r);
            }
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                int a = ShapeSupport.axis(ctx, p[i], r);
                if (seen[a]) {
                    throw ctx.fail("perm " + java.util.Arrays.toString(p) + " repeats axis " + a);
                }
                seen[a] = true;
                perm[i] = a;
            }
        }
        long[] inStrides = in.contiguousStrides();
        int[] dims = new int[r];
        long[] strides = new long[r];
        for (int i = 0; i < r; i++) {
            dims[i] = in.dim(perm[i]);
            strides[i] = inStrides[perm[i]];
        }
        Shape out = Shape.of(dims);
        boolean identity = true;
        for (int i = 0; i < r; i++) {
            identity &= perm[i] == i || in.dim(perm[i]) == 1;
        }
        if (identity) {
            // Moving only size-1 axes keeps the element order: a view.
            return Prepared.alias(0, ctx.dtype(0), out);
        }
        var pool = ctx.pool();
        long total = out.size();
        return Prepared.of(ctx.dtype(0), out, (x, y) -> {
            if (total < (1 << 16) || r == 0 || dims[0] < 2 || pool.threads() < 2) {
                StridedCopy.copy(x[0], 0, strides, dims, y[0]);
                return;
            }
            int parts = Math.min(dims[0], pool.threads() * 2);
            long outStride0 = total / dims[0];
            pool.parallelFor(parts, part -> {
                int a0 = (int) ((long) dims[0] * part / parts);
                int a1 = (int) ((long) dims[0] * (part + 1) / parts);
                if (a1 <= a0) {
                    return;
                }
                int[] d = dims.clone();
                d[0] = a1 - a0;
                try (var dst = dev.tandem.runtime.tensor.Tensor.wrap(y[0].segment(),
                        y[0].offset() + a0 * outStride0, y[0].dtype(), Shape.of(d))) {
                    StridedCopy.copy(x[0], a0 * strides[0], strides, d, dst);
                }
            });
        });
    }
}
