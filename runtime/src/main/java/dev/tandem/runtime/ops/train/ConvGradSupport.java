package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/** The geometry shared by the two convolution gradient ops (1-D convolutions run as 2-D with height 1). */
final class ConvGradSupport {
    private ConvGradSupport() {
    }

    /**
     * The shapes and geometry both gradient ops check: {@code x} and {@code w} as given, dY (input 0) matching
     * them, and everything viewed as 2-D (4-D tensors).
     */
    record Setup(ConvParams p, Shape x, Shape w, Shape x4, Shape dy4, Shape w4, long macs) {
        int n() {
            return x4.dim(0);
        }

        int c() {
            return x4.dim(1);
        }

        int h() {
            return x4.dim(2);
        }

        int width() {
            return x4.dim(3);
        }

        int m() {
            return w4.dim(0);
        }
    }

    /** Checks inputs 0 and 1 are float32 or float64 of one type, and returns it. */
    static DType types(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        return t;
    }

    /** The shape given by the int64 input {@code i}, known at plan time. */
    static Shape shapeInput(OpContext ctx, int i, String what) {
        long[] v = ctx.constantLongs(i, what);
        int[] dims = new int[v.length];
        for (int k = 0; k < dims.length; k++) {
            dims[k] = Math.toIntExact(v[k]);
        }
        return Shape.of(dims);
    }

    static Setup setup(OpContext ctx, Shape x, Shape w) {
        ConvParams p = params(ctx, x, w);
        Shape dy = ctx.shape(0);
        checkDy(ctx, x, w, p, dy);
        Shape w4 = as4d(w);
        long macs = dy.size() * (long) w4.dim(1) * p.kernelH() * p.kernelW();
        return new Setup(p, x, w, Geometry.as4d(x), Geometry.as4d(dy), w4, macs);
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
