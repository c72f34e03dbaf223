package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.List;

/**
 * {@code dev.tandem.SoftmaxCrossEntropy(logits [N, C], labels [N], weights [C]?) → loss (scalar), log_prob [N, C]}:
 * PyTorch's {@code cross_entropy} (see {@link CrossEntropy}) with attributes {@code label_smoothing} (0) and
 * {@code reduction} ("mean" or "sum"). A label outside [0, C) fails the run with a message naming it. Float32 and
 * float64; computed in float64.
 */
public final class SoftmaxCrossEntropy implements Op {
    @Override
    public String type() {
        return "SoftmaxCrossEntropy";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        if (ctx.hasInput(2)) {
            ctx.requireType(2, t);
        }
        CrossEntropy.Setup s = CrossEntropy.setup(ctx, 0, 1, 2);
        return Prepared.of(List.of(new Prepared.Output(t, Shape.scalar()), new Prepared.Output(t, ctx.shape(0))),
                (in, out) -> {
                    double[] logp = CrossEntropy.logSoftmax(Doubles.read(in[0]), s.n(), s.c());
                    long[] labels = Doubles.readLongs(in[1]);
                    double[] w = in.length < 3 || in[2] == null ? null : Doubles.read(in[2]);
                    double[] q = new double[s.c()];
                    double loss = 0;
                    for (int i = 0; i < s.n(); i++) {
                        CrossEntropy.target(s, CrossEntropy.label(labels, i, s.c()), w, q);
                        for (int j = 0; j < s.c(); j++) {
                            loss -= q[j] * logp[i * s.c() + j];
                        }
                    }
                    Doubles.write(new double[] {loss / CrossEntropy.divisor(s, labels, w)}, out[0]);
                    Doubles.write(logp, out[1]);
                });
    }
}
