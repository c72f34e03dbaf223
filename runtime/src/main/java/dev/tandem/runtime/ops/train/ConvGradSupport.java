package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.Shape;

/** The geometry shared by the two convolution gradient ops (1-D convolutions run as 2-D with height 1). */
final class ConvGradSupport {
    private ConvGradSupport() {
    }

    static ConvParams params(OpContext ctx, Shape x, Shape w) {
        Geometry.spatialRank(ctx, x, "Conv gradient");
        if (w.rank() != x.rank()) {
            throw ctx.fail("weights " + w + " and input " + x + " must have the same rank");
        }
        int group = Math.toIntExact(ctx.attrInt("group", 1));
        if (group < 1 || x.dim(1) % group != 0 || w.dim(0) % group != 0 || w.dim(1) * group != x.dim(1)) {
            throw ctx.fail("input " + x + ", weights " + w + " and group " + group + " disagree");
        }
        return Geometry.params(ctx, Geometry.spatial(x), Geometry.spatial(w), group);
    }

    static void checkDy(OpContext ctx, Shape x, Shape w, ConvParams p, Shape dy) {
        Shape expect = Geometry.outShape(ctx, x, w.dim(0), p, false);
        if (!expect.equals(dy)) {
            throw ctx.fail("dY must be " + expect + " for input " + x + " and weights " + w + "; got " + dy);
        }
    }

    static Shape as4d(Shape w) {
        return w.rank() == 4 ? w : Shape.of(w.dim(0), w.dim(1), 1, w.dim(2));
    }
}
