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
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        long[] ws = ctx.constantLongs(2, "w_shape");
        int[] dims = new int[ws.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = Math.toIntExact(ws[i]);
        }
        Shape w = Shape.of(dims);
        Shape x = ctx.shape(1);
        ConvParams p = ConvGradSupport.params(ctx, x, w);
        Shape dy = ctx.shape(0);
        ConvGradSupport.checkDy(ctx, x, w, p, dy);
        Shape x4 = Geometry.as4d(x), dy4 = Geometry.as4d(dy), w4 = ConvGradSupport.as4d(w);
        int n = x4.dim(0), c = x4.dim(1), h = x4.dim(2), wd = x4.dim(3), m = w4.dim(0);
        long macs = dy.size() * (long) w4.dim(1) * p.kernelH() * p.kernelW();
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
