package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import java.util.ArrayList;
import java.util.List;

/**
 * SoftmaxCrossEntropyLoss (opset 12+; 13 only widened the types), float32 and float64, forward only: scores
 * {@code [N, C, d1...]}, labels {@code [N, d1...]} (int32/int64), optional weights {@code [C]}; {@code log_prob =
 * LogSoftmax(scores)} over axis 1, then the loss is {@link NegativeLogLikelihoodLoss} of {@code log_prob} with the
 * same {@code reduction} (default "mean") and {@code ignore_index}. The optional second output is {@code log_prob}
 * (the scores' shape). Computed in double by {@link dev.tandem.runtime.kernels.reference.ReferenceLoss} (not a hot
 * path).
 */
public final class SoftmaxCrossEntropyLoss implements Op {
    @Override
    public String type() {
        return "SoftmaxCrossEntropyLoss";
    }

    @Override
    public int minOpset() {
        return 12;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        LossSupport.Spec s = LossSupport.check(ctx, type());
        List<Prepared.Output> outs = new ArrayList<>();
        outs.add(new Prepared.Output(s.dtype(), s.lossShape()));
        if (ctx.outputCount() > 1) {
            outs.add(new Prepared.Output(s.dtype(), ctx.shape(0)));
        }
        return Prepared.of(outs, (in, out) -> LossSupport.run(s, true, in, out[0],
                out.length > 1 ? out[1] : null));
    }
}
