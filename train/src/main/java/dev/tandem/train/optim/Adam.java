package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Value;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import java.util.List;

/**
 * Adam, as {@code torch.optim.Adam} (amsgrad off): weight decay is L2, added to the gradient (after clipping). State per parameter: {@code exp_avg} (m) and {@code exp_avg_sq} (v). Emits {@code dev.tandem.AdamStep}
 * (inputs lr, step, p…, g…, m…, v…; attributes beta1, beta2, epsilon, weight_decay, decoupled 0, decay,
 * max_grad_norm).
 */
public record Adam(double lr, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm,
                   boolean decayVectors) implements Optimizer {
    public Adam {
        AdamRule.check("Adam", lr, beta1, beta2, eps, weightDecay, maxGradNorm);
    }

    /** Betas (0.9, 0.999), eps 1e-8, no weight decay, no clipping. */
    public static Adam of(double lr) {
        return new Adam(lr, 0.9, 0.999, 1e-8, 0, 0, true);
    }

    public Adam withBetas(double b1, double b2) {
        return new Adam(lr, b1, b2, eps, weightDecay, maxGradNorm, decayVectors);
    }

    public Adam withEps(double e) {
        return new Adam(lr, beta1, beta2, e, weightDecay, maxGradNorm, decayVectors);
    }

    public Adam withWeightDecay(double wd) {
        return new Adam(lr, beta1, beta2, eps, wd, maxGradNorm, decayVectors);
    }

    public Adam withMaxGradNorm(double max) {
        return new Adam(lr, beta1, beta2, eps, weightDecay, max, decayVectors);
    }

    public Adam withDecayVectors(boolean on) {
        return new Adam(lr, beta1, beta2, eps, weightDecay, maxGradNorm, on);
    }

    @Override
    public List<String> stateNames() {
        return AdamRule.STATE;
    }

    @Override
    public OptimizerStep emitStep(Tracer tracer, List<Traced.Binding> parameters, List<Value> gradients) {
        return AdamRule.emit(this, false, beta1, beta2, eps, tracer, parameters, gradients);
    }

    @Override
    public double referenceStep(double lr, long step, float[][] params, float[][] grads, float[][][] state,
                                boolean[] decay) {
        return AdamRule.step(false, beta1, beta2, eps, weightDecay, maxGradNorm, lr, step, params, grads, state,
                decay);
    }
}
