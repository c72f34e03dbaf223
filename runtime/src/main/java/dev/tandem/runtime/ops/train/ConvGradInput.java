package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.ConvBackward;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.reference.ReferenceConvGrad;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
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
        DType t = ConvGradSupport.types(ctx);
        ConvGradSupport.Setup s = ConvGradSupport.setup(ctx, ConvGradSupport.shapeInput(ctx, 2, "x_shape"),
                ctx.shape(1));
        ConvParams p = s.p();
        Shape x = s.x(), x4 = s.x4(), dy4 = s.dy4(), w4 = s.w4();
        int n = s.n(), c = s.c(), h = s.h(), wd = s.width(), m = s.m();
        long macs = s.macs();
        if (t == DType.FLOAT64) {
            return Prepared.of(t, x, macs, (in, out) -> Doubles.write(
                    ReferenceConvGrad.input(Doubles.read(in[0]), Doubles.read(in[1]), n, c, h, wd, m, p), out[0]));
        }
        var gemm = ctx.gemm();
        return Prepared.of(t, x, macs, (in, out) -> ConvBackward.input(gemm, p, in[0].reshape(dy4.dims()),
                in[1].reshape(w4.dims()), out[0].reshape(x4.dims())));
    }
}
