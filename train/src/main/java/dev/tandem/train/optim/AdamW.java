package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Value;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import java.util.List;

/**
 * AdamW, as {@code torch.optim.AdamW} (amsgrad off): decoupled weight decay, {@code p *= 1 - lr·weightDecay} before the Adam update. State per parameter: {@code exp_avg} (m) and {@code exp_avg_sq} (v). Emits {@code dev.tandem.AdamStep}
 * (inputs lr, step, p…, g…, m…, v…; attributes beta1, beta2, epsilon, weight_decay, decoupled 1, decay,
 * max_grad_norm).
 */
public record AdamW(double lr, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm,
                   boolean decayVectors) implements Optimizer {
    public AdamW {
        AdamRule.check("AdamW", lr, beta1, beta2, eps, weightDecay, maxGradNorm);
    }

    /** Betas (0.9, 0.999), eps 1e-8, weight decay 0.01 (PyTorch's default), no clipping. */
    public static AdamW of(double lr) {
        return new AdamW(lr, 0.9, 0.999, 1e-8, 0.01, 0, true);
    }

    public AdamW withBetas(double b1, double b2) {
        return new AdamW(lr, b1, b2, eps, weightDecay, maxGradNorm, decayVectors);
    }

    public AdamW withEps(double e) {
        return new AdamW(lr, beta1, beta2, e, weightDecay, maxGradNorm, decayVectors);
    }

    public AdamW withWeightDecay(double wd) {
        return new AdamW(lr, beta1, beta2, eps, wd, maxGradNorm, decayVectors);
    }

    public AdamW withMaxGradNorm(double max) {
        return new AdamW(lr, beta1, beta2, eps, weightDecay, max, decayVectors);
    }

    public AdamW withDecayVectors(boolean on) {
        return new AdamW(lr, beta1, beta2, eps, weightDecay, maxGradNorm, on);
    }

    @Override
    public List<String> stateNames() {
        return AdamRule.STATE;
    }

    @Override
    public OptimizerStep emitStep(Tracer tracer, List<Traced.Binding> parameters, List<Value> gradients) {
        return AdamRule.emit(this, true, beta1, beta2, eps, tracer, parameters, gradients);
    }

    @Override
    public double referenceStep(double lr, long step, float[][] params, float[][] grads, float[][][] state,
                                boolean[] decay) {
        return AdamRule.step(true, beta1, beta2, eps, weightDecay, maxGradNorm, lr, step, params, grads, state,
                decay);
    }
}
