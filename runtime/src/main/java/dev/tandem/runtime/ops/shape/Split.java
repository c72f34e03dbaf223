package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Split (any type): sizes from the {@code split} attribute (before opset 13) or input 1 (from 13); else equal
 * parts, one per output, or {@code num_outputs} parts (opset 18) of {@code ceil(d / n)} with a smaller last one.
 */
public final class Split implements Op {
    @Override
    public String type() {
        return "Split";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        Shape in = ctx.shape(0);
        DType dt = ctx.dtype(0);
        int axis = ShapeSupport.axis(ctx, ctx.attrInt("axis", 0), in.rank());
        int d = in.dim(axis);
        int n = ctx.outputCount();
        long[] split = ctx.opset() >= 13 ? (ctx.hasInput(1) ? ctx.constantLongs(1, "split") : null)
                : ctx.attrInts("split");
        if (split != null && split.length == 0) {
            split = null;
        }
        long[] sizes = new long[n];
        if (split != null) {
            if (split.length != n) {
                throw ctx.fail("split " + java.util.Arrays.toString(split) + " has " + split.length
                        + " sizes for " + n + " outputs");
            }
            long sum = 0;
            for (int i = 0; i < n; i++) {
                if (split[i] < 0) {
                    throw ctx.fail("negative split size in " + java.util.Arrays.toString(split));
                }
                sizes[i] = split[i];
                sum += split[i];
            }
            if (sum != d) {
                throw ctx.fail("split " + java.util.Arrays.toString(split) + " sums to " + sum + ", not the axis size "
                        + d);
            }
        } else if (ctx.opset() >= 18 && ctx.hasAttr("num_outputs")) {
            long k = ctx.attrInt("num_outputs", n);
            if (k != n) {
                throw ctx.fail("num_outputs " + k + " but the node has " + n + " outputs");
            }
            long part = (d + k - 1) / k;
            long left = d;
            for (int i = 0; i < n; i++) {
                sizes[i] = Math.min(part, left);
                left -= sizes[i];
            }
        } else {
            if (n == 0 || d % n != 0) {
                throw ctx.fail("axis size " + d + " does not split into " + n + " equal parts");
            }
            java.util.Arrays.fill(sizes, d / n);
        }
        long outer = ShapeSupport.product(in.dims(), 0, axis);
        long inner = ShapeSupport.product(in.dims(), axis + 1, in.rank());
        List<Prepared.Output> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] dims = in.dims();
            dims[axis] = (int) sizes[i];
            outs.add(new Prepared.Output(dt, Shape.of(dims)));
        }
        long inChunk = (long) d * inner;
        return Prepared.of(outs, (x, y) -> {
            long pos = 0;
            for (int i = 0; i < n; i++) {
                long c = sizes[i] * inner;
                if (c > 0) {
                    for (long o = 0; o < outer; o++) {
                        Elements.copy(x[0], o * inChunk + pos, y[i], o * c, c);
                    }
                }
                pos += c;
            }
        });
    }
}
