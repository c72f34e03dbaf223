package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.ConvBackward;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.reference.ReferenceConvGrad;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * {@code dev.tandem.ConvGradInput(dY, W, x_shape) → dX}: the gradient of Conv with respect to its input, with the
 * Conv node's attributes. {@code x_shape} (int64, known at plan time: the autodiff feeds it {@code Shape(X)}) is the
 * input's shape. Float32 (fast) and float64 (reference).
 */
public final class ConvGradInput implements Op {
    @Override
    public String type() {
        return "ConvGradInput";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        long[] xs = ctx.constantLongs(2, "x_shape");
        int[] dims = new int[xs.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = Math.toIntExact(xs[i]);
        }
        Shape x = Shape.of(dims);
        Shape w = ctx.shape(1);
        ConvParams p = ConvGradSupport.params(ctx, x, w);
        Shape dy = ctx.shape(0);
        ConvGradSupport.checkDy(ctx, x, w, p, dy);
        Shape x4 = Geometry.as4d(x), dy4 = Geometry.as4d(dy), w4 = ConvGradSupport.as4d(w);
        int n = x4.dim(0), c = x4.dim(1), h = x4.dim(2), wd = x4.dim(3), m = w4.dim(0);
        long macs = dy.size() * (long) w4.dim(1) * p.kernelH() * p.kernelW();
        if (t == DType.FLOAT64) {
            return Prepared.of(t, x, macs, (in, out) -> Doubles.write(
                    ReferenceConvGrad.input(Doubles.read(in[0]), Doubles.read(in[1]), n, c, h, wd, m, p), out[0]));
        }
        var gemm = ctx.gemm();
        return Prepared.of(t, x, macs, (in, out) -> ConvBackward.input(gemm, p, in[0].reshape(dy4.dims()),
                in[1].reshape(w4.dims()), out[0].reshape(x4.dims())));
    }
}
