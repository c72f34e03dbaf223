package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/**
 * {@code dev.tandem.SoftmaxCrossEntropyGrad(dLoss, log_prob, labels, weights?) → dLogits}: the gradient of
 * {@link SoftmaxCrossEntropy}, {@code dLoss·(p·Σq - q)/divisor} per row, with the forward's attributes.
 */
public final class SoftmaxCrossEntropyGrad implements Op {
    @Override
    public String type() {
        return "SoftmaxCrossEntropyGrad";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(1, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(0, t);
        if (ctx.shape(0).size() != 1) {
            throw ctx.fail("dLoss must be a scalar; got " + ctx.shape(0));
        }
        if (ctx.hasInput(3)) {
            ctx.requireType(3, t);
        }
        CrossEntropy.Setup s = CrossEntropy.setup(ctx, 1, 2, 3);
        return Prepared.of(t, ctx.shape(1), (in, out) -> {
            double g = Doubles.read(in[0])[0];
            double[] logp = Doubles.read(in[1]);
            long[] labels = Doubles.readLongs(in[2]);
            double[] w = in.length < 4 || in[3] == null ? null : Doubles.read(in[3]);
            double k = g / CrossEntropy.divisor(s, labels, w);
            double[] q = new double[s.c()];
            double[] d = new double[logp.length];
            for (int i = 0; i < s.n(); i++) {
                CrossEntropy.target(s, CrossEntropy.label(labels, i, s.c()), w, q);
                double total = 0;
                for (double v : q) {
                    total += v;
                }
                for (int j = 0; j < s.c(); j++) {
                    d[i * s.c() + j] = k * (Math.exp(logp[i * s.c() + j]) * total - q[j]);
                }
            }
            Doubles.write(d, out[0]);
        });
    }
}
