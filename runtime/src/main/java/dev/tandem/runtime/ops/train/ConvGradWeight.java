package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.ConvBackward;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.reference.ReferenceConvGrad;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.List;

/**
 * {@code dev.tandem.ConvGradWeight(dY, X, w_shape) → dW, dB?}: the gradient of Conv with respect to its weights
 * (and, when the node declares a second output, its bias: dY summed per channel), with the Conv node's attributes;
 * {@code w_shape} (int64, known at plan time) is the weights' shape. Float32 (fast) and float64 (reference).
 */
public final class ConvGradWeight implements Op {
    @Override
    public String type() {
        return "ConvGradWeight";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ConvGradSupport.types(ctx);
        ConvGradSupport.Setup s = ConvGradSupport.setup(ctx, ctx.shape(1),
                ConvGradSupport.shapeInput(ctx, 2, "w_shape"));
        ConvParams p = s.p();
        Shape w = s.w(), x4 = s.x4(), dy4 = s.dy4(), w4 = s.w4();
        int n = s.n(), c = s.c(), h = s.h(), wd = s.width(), m = s.m();
        long macs = s.macs();
        boolean bias = Geometry.hasOutput(ctx, 1);
        List<Prepared.Output> outs = bias ? List.of(new Prepared.Output(t, w), new Prepared.Output(t, Shape.of(m)))
                : List.of(new Prepared.Output(t, w));
        int hwo = dy4.dim(2) * dy4.dim(3);
        var gemm = ctx.gemm();
        Kernel k = (in, out) -> {
            if (t == DType.FLOAT64) {
                Doubles.write(ReferenceConvGrad.weight(Doubles.read(in[0]), Doubles.read(in[1]), n, c, h, wd, m, p),
                        out[0]);
            } else {
                ConvBackward.weight(gemm, p, in[0].reshape(dy4.dims()), in[1].reshape(x4.dims()),
                        out[0].reshape(w4.dims()));
            }
            if (bias) {
                double[] db = new double[m];
                for (int b = 0; b < n; b++) {
                    for (int ch = 0; ch < m; ch++) {
                        for (double v : Doubles.read(in[0], ((long) b * m + ch) * hwo, hwo)) {
                            db[ch] += v;
                        }
                    }
                }
                Doubles.write(db, out[1]);
            }
        };
        return new Prepared(outs, k, -1, macs);
    }
}
