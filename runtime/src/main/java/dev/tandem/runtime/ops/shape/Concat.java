package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/** Concat (any type, all inputs the same type and rank; negative axis from opset 11): block copies. */
public final class Concat implements Op {
    @Override
    public String type() {
        return "Concat";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        int n = ctx.inputCount();
        if (n < 1) {
            throw ctx.fail("needs at least one input");
        }
        if (!ctx.hasAttr("axis") && ctx.opset() >= 4) {
            throw ctx.fail("the 'axis' attribute is required");
        }
        Shape first = ctx.shape(0);
        DType dt = ctx.dtype(0);
        int r = first.rank();
        int axis = ShapeSupport.axis(ctx, ctx.attrInt("axis", 1), r);
        int[] out = first.dims();
        out[axis] = 0;
        long[] chunk = new long[n];
        for (int i = 0; i < n; i++) {
            Shape s = ctx.shape(i);
            if (ctx.dtype(i) != dt) {
                throw ctx.fail("input " + i + " is " + ctx.typeName(i) + "; input 0 is " + ctx.typeName(0));
            }
            if (s.rank() != r) {
                throw ctx.fail("input " + i + " has shape " + s + "; input 0 has " + first);
            }
            for (int a = 0; a < r; a++) {
                if (a != axis && s.dim(a) != first.dim(a)) {
                    throw ctx.fail("input " + i + " has shape " + s + ", which does not match " + first
                            + " off axis " + axis);
                }
            }
            out[axis] = Math.addExact(out[axis], s.dim(axis));
            chunk[i] = s.size() / Math.max(1, ShapeSupport.product(first.dims(), 0, axis));
        }
        long outer = ShapeSupport.product(first.dims(), 0, axis);
        Shape outShape = Shape.of(out);
        long outChunk = outer == 0 ? 0 : outShape.size() / outer;
        return Prepared.of(dt, outShape, (x, y) -> {
            long pos = 0;
            for (int i = 0; i < n; i++) {
                long c = chunk[i];
                if (c > 0) {
                    for (long o = 0; o < outer; o++) {
                        Elements.copy(x[i], o * c, y[0], o * outChunk + pos, c);
                    }
                }
                pos += c;
            }
        });
    }
}
