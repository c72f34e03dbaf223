package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/** Relu (opset 1+): max(x, 0) on float32. */
public final class Relu implements Op {
    @Override
    public String type() {
        return "Relu";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        return Prepared.of(DType.FLOAT32, ctx.shape(0), (in, out) -> {
            out[0].copyFrom(in[0]);
            Elementwise.activate(ctx.pool(), Activation.RELU, out[0]);
        });
    }
}
