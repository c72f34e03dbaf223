package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/**
 * NegativeLogLikelihoodLoss (opset 12+; 13 only widened the types), float32 and float64, forward only: input
 * {@code [N, C, d1...]} of log-probabilities, target {@code [N, d1...]} (int32/int64), optional weights {@code [C]};
 * {@code loss = -weight[t] · input[n, t, d...]}, 0 where the target equals {@code ignore_index}. reduction "none"
 * gives {@code [N, d1...]}, "sum" a scalar, "mean" (the default) a scalar divided by the summed weights of the
 * elements not ignored. A target outside {@code [0, C)} that is not ignore_index fails the run. Computed in
 * double by {@link dev.tandem.runtime.kernels.reference.ReferenceLoss} (not a hot path).
 */
public final class NegativeLogLikelihoodLoss implements Op {
    @Override
    public String type() {
        return "NegativeLogLikelihoodLoss";
    }

    @Override
    public int minOpset() {
        return 12;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        LossSupport.Spec s = LossSupport.check(ctx, type());
        return Prepared.of(s.dtype(), s.lossShape(), (in, out) -> LossSupport.run(s, false, in, out[0], null));
    }
}
