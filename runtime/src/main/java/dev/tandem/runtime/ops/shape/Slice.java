package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * Slice (any type): {@code starts/ends/axes} attributes before opset 10; from 10 inputs 1-4 (starts, ends,
 * axes, steps; known at plan time). Negative indices count from the end; bounds clamp as in numpy, including
 * negative steps.
 */
public final class Slice implements Op {
    @Override
    public String type() {
        return "Slice";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        DType dt = ctx.dtype(0);
        int r = in.rank();
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (ctx.opset() < 10) {
            starts = ctx.attrInts("starts");
            ends = ctx.attrInts("ends");
            axes = ctx.attrInts("axes");
            if (starts == null || ends == null) {
                throw ctx.fail("the 'starts' and 'ends' attributes are required");
            }
        } else {
            starts = ctx.constantLongs(1, "starts");
            ends = ctx.constantLongs(2, "ends");
            axes = ctx.hasInput(3) ? ctx.constantLongs(3, "axes") : null;
            steps = ctx.hasInput(4) ? ctx.constantLongs(4, "steps") : null;
        }
        int k = starts.length;
        if (ends.length != k || axes != null && axes.length != k || steps != null && steps.length != k) {
            throw ctx.fail("starts, ends, axes and steps must have the same length");
        }
        int[] dims = in.dims();
        long[] inStrides = in.contiguousStrides();
        long[] strides = inStrides.clone();
        long offset = 0;
        boolean[] seen = new boolean[r];
        for (int i = 0; i < k; i++) {
            int a = ShapeSupport.axis(ctx, axes == null ? i : axes[i], r);
            if (seen[a]) {
                throw ctx.fail("axis " + a + " sliced twice");
            }
            seen[a] = true;
            long step = steps == null ? 1 : steps[i];
            if (step == 0) {
                throw ctx.fail("step 0 on axis " + a);
            }
            long n = in.dim(a);
            long s = starts[i];
            long e = ends[i];
            if (s < 0) {
                s += n;
            }
            if (e < 0) {
                e += n;
            }
            long len;
            if (n == 0) {
                len = 0;
            } else if (step > 0) {
                s = Math.clamp(s, 0, n);
                e = Math.clamp(e, 0, n);
                len = e <= s ? 0 : (e - s + step - 1) / step;
            } else {
                s = Math.clamp(s, 0, n - 1);
                e = Math.clamp(e, -1, n - 1);
                len = e >= s ? 0 : (s - e + (-step) - 1) / (-step);
            }
            dims[a] = (int) len;
            if (len > 0) {
                offset += s * inStrides[a];
            }
            strides[a] = inStrides[a] * step;
        }
        Shape out = Shape.of(dims);
        long off = out.size() == 0 ? 0 : offset;
        return Prepared.of(dt, out, (x, y) -> StridedCopy.copy(x[0], off, strides, dims, y[0]));
    }
}
