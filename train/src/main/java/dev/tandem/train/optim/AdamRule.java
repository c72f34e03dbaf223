package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import java.util.List;

/** The Adam update shared by {@link Adam} (L2 decay in the gradient) and {@link AdamW} (decoupled decay). */
final class AdamRule {
    static final List<String> STATE = List.of("exp_avg", "exp_avg_sq");

    private AdamRule() {
    }

    static void check(String name, double lr, double beta1, double beta2, double eps, double weightDecay,
                      double maxGradNorm) {
        StepNodes.checkCommon(name, lr, weightDecay, maxGradNorm);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException(name + ": betas must be in [0, 1); got " + beta1 + ", " + beta2);
        }
        if (!(eps >= 0)) {
            throw new IllegalArgumentException(name + ": eps must be >= 0; got " + eps);
        }
    }

    static OptimizerStep emit(Optimizer o, boolean decoupled, double beta1, double beta2, double eps, Tracer tracer,
                              List<Traced.Binding> parameters, List<Value> gradients) {
        return StepNodes.emit(o, "AdamStep", true, tracer, parameters, gradients, List.of(
                Attribute.of("beta1", (float) beta1),
                Attribute.of("beta2", (float) beta2),
                Attribute.of("epsilon", (float) eps),
                Attribute.of("weight_decay", (float) o.weightDecay()),
                Attribute.of("decoupled", decoupled ? 1L : 0L)));
    }

    /**
     * PyTorch's Adam / AdamW (amsgrad off), per element after clipping: L2 {@code g += wd·p} or decoupled
     * {@code p *= 1 - lr·wd}; {@code m = β1·m + (1-β1)·g}; {@code v = β2·v + (1-β2)·g²};
     * {@code p -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + eps)}.
     */
    static double step(boolean decoupled, double beta1, double beta2, double eps, double weightDecay,
                       double maxGradNorm, double lr, long t, float[][] params, float[][] grads, float[][][] state,
                       boolean[] decay) {
        StepNodes.checkShapes(params, grads, state, decay, 2);
        if (t < 1) {
            throw new IllegalArgumentException("Adam: the step count is 1-based; got " + t);
        }
        double norm = Clipping.globalNorm(grads);
        double scale = Clipping.scale(norm, maxGradNorm);
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
        for (int i = 0; i < params.length; i++) {
            float[] p = params[i], g = grads[i], m = state[i][0], v = state[i][1];
            double wd = decay[i] ? weightDecay : 0;
            for (int j = 0; j < p.length; j++) {
                double pj = p[j];
                double d = g[j] * scale;
                if (decoupled) {
                    pj *= 1 - lr * wd;
                } else {
                    d += wd * pj;
                }
                double mj = beta1 * m[j] + (1 - beta1) * d;
                double vj = beta2 * v[j] + (1 - beta2) * d * d;
                m[j] = (float) mj;
                v[j] = (float) vj;
                p[j] = (float) (pj - lr / bc1 * mj / (Math.sqrt(vj) / bc2Sqrt + eps));
            }
        }
        return norm;
    }
}
