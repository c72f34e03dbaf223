package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import java.util.List;

/**
 * Stochastic gradient descent with momentum, as {@code torch.optim.SGD} (dampening 0): per element, after
 * clipping, {@code g += weightDecay·p} (where decay applies), {@code buf = momentum·buf + g},
 * {@code g = nesterov ? g + momentum·buf : buf} (when momentum ≠ 0), {@code p -= lr·g}. State:
 * {@code momentum_buffer} per parameter (kept even with momentum 0, so the node's inputs always are
 * lr, p…, g…, m…). Emits {@code dev.tandem.SgdStep} with attributes momentum, nesterov, weight_decay, decay,
 * max_grad_norm.
 */
public record Sgd(double lr, double momentum, boolean nesterov, double weightDecay, double maxGradNorm,
                  boolean decayVectors) implements Optimizer {
    public Sgd {
        StepNodes.checkCommon("SGD", lr, weightDecay, maxGradNorm);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("SGD: momentum must be in [0, 1); got " + momentum);
        }
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("SGD: Nesterov momentum needs a momentum > 0");
        }
    }

    /** Plain SGD at {@code lr}: no momentum, no weight decay, no clipping. */
    public static Sgd of(double lr) {
        return new Sgd(lr, 0, false, 0, 0, true);
    }

    public Sgd withMomentum(double m) {
        return new Sgd(lr, m, nesterov, weightDecay, maxGradNorm, decayVectors);
    }

    public Sgd withNesterov(boolean n) {
        return new Sgd(lr, momentum, n, weightDecay, maxGradNorm, decayVectors);
    }

    public Sgd withWeightDecay(double wd) {
        return new Sgd(lr, momentum, nesterov, wd, maxGradNorm, decayVectors);
    }

    public Sgd withMaxGradNorm(double max) {
        return new Sgd(lr, momentum, nesterov, weightDecay, max, decayVectors);
    }

    public Sgd withDecayVectors(boolean on) {
        return new Sgd(lr, momentum, nesterov, weightDecay, maxGradNorm, on);
    }

    @Override
    public List<String> stateNames() {
        return List.of("momentum_buffer");
    }

    @Override
    public OptimizerStep emitStep(Tracer tracer, List<Traced.Binding> parameters, List<Value> gradients) {
        return StepNodes.emit(this, "SgdStep", false, momentum != 0, tracer, parameters, gradients, List.of(
                Attribute.of("momentum", (float) momentum),
                Attribute.of("nesterov", nesterov ? 1L : 0L),
                Attribute.of("weight_decay", (float) weightDecay)));
    }

    @Override
    public double referenceStep(double lr, long step, float[][] params, float[][] grads, float[][][] state,
                                boolean[] decay) {
        StepNodes.checkShapes(params, grads, state, decay, 1);
        double norm = Clipping.globalNorm(grads);
        double scale = Clipping.scale(norm, maxGradNorm);
        for (int i = 0; i < params.length; i++) {
            float[] p = params[i], g = grads[i], buf = state[i][0];
            double wd = decay[i] ? weightDecay : 0;
            for (int j = 0; j < p.length; j++) {
                double d = g[j] * scale + wd * p[j];
                if (momentum != 0) {
                    double b = momentum * buf[j] + d;
                    buf[j] = (float) b;
                    d = nesterov ? d + momentum * b : b;
                }
                p[j] = (float) (p[j] - lr * d);
            }
        }
        return norm;
    }
}
