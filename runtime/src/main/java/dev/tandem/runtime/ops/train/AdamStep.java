package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * {@code dev.tandem.AdamStep(lr, step, p…, g…, m…, v…) → grad_norm}: one step of PyTorch's Adam ({@code decoupled}
 * = 0, weight decay added to the gradient) or AdamW ({@code decoupled} = 1, {@code p *= 1 - lr·weight_decay}),
 * updating parameters and both moments <b>in place</b>. {@code step} is the 1-based int64 step count for bias
 * correction. Attributes beta1 (0.9), beta2 (0.999), epsilon (1e-8), weight_decay, decoupled, decay (per-parameter
 * mask), max_grad_norm (0 = no clipping). Output: the gradients' global norm before clipping.
 */
public final class AdamStep implements Op {
    @Override
    public String type() {
        return "AdamStep";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public int[] mutatedInputs(int inputCount) {
        return OptimizerStep.mutated(inputCount, 2, 2);
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, DType.INT64);
        int k = OptimizerStep.check(ctx, 2, 2);
        double b1 = ctx.attrFloat("beta1", 0.9f);
        double b2 = ctx.attrFloat("beta2", 0.999f);
        double eps = ctx.attrFloat("epsilon", 1e-8f);
        double wd = ctx.attrFloat("weight_decay", 0f);
        boolean decoupled = ctx.attrInt("decoupled", 0) != 0;
        double maxNorm = ctx.attrFloat("max_grad_norm", 0f);
        boolean[] decay = OptimizerStep.decayMask(ctx, k);
        DType t = ctx.dtype(2);
        var pool = ctx.pool();
        return Prepared.of(t, Shape.scalar(), (in, out) -> {
            double lr = Doubles.read(in[0])[0];
            long step = Doubles.readLongs(in[1])[0];
            if (step < 1) {
                throw new ModelException("AdamStep's step count must be >= 1; got " + step);
            }
            double norm = OptimizerStep.norm(in, 2 + k, k);
            if (!Double.isFinite(norm)) {
                throw new ModelException("The gradients are not finite (global norm " + norm + "); the parameters "
                        + "were not updated");
            }
            double clip = OptimizerStep.clipFactor(norm, maxNorm);
            double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
            pool.parallelFor(k, i -> {
                double[] p = Doubles.read(in[2 + i]);
                double[] g = Doubles.read(in[2 + k + i]);
                double[] m = Doubles.read(in[2 + 2 * k + i]);
                double[] v = Doubles.read(in[2 + 3 * k + i]);
                double d = decay[i] ? wd : 0;
                for (int j = 0; j < p.length; j++) {
                    double gj = g[j] * clip;
                    if (decoupled) {
                        p[j] *= 1 - lr * d;
                    } else {
                        gj += d * p[j];
                    }
                    m[j] = b1 * m[j] + (1 - b1) * gj;
                    v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                    p[j] -= lr * (m[j] / c1) / (Math.sqrt(v[j] / c2) + eps);
                }
                Doubles.write(p, in[2 + i]);
                Doubles.write(m, in[2 + 2 * k + i]);
                Doubles.write(v, in[2 + 3 * k + i]);
            });
            Doubles.write(new double[] {norm}, out[0]);
        });
    }
}
