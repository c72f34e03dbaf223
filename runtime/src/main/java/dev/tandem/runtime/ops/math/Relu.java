package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Relu (opset 1+): max(x, 0). Float32 runs the vectorised activation; float64 and the signed integer types
 * (opset 14 allows int8/int32/int64) use the scalar path.
 */
public final class Relu implements Op {
    @Override
    public String type() {
        return "Relu";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, Broadcasting.SIGNED);
        if (t == DType.FLOAT32) {
            return Prepared.of(DType.FLOAT32, ctx.shape(0), (in, out) -> {
                out[0].copyFrom(in[0]);
                Elementwise.activate(ctx.pool(), Activation.RELU, out[0]);
            });
        }
        boolean exact = Broadcasting.isIntegral(t);
        return Prepared.of(t, ctx.shape(0), (in, out) -> {
            Tensor x = in[0], r = out[0];
            Broadcasting.forEachRow(r.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
                long p = offs[0];
                for (int j = 0; j < len; j++, p += steps[0]) {
                    if (exact) {
                        Elements.setLong(r, oi + j, Math.max(Elements.getLong(x, p), 0));
                    } else {
                        double v = Elements.getDouble(x, p);
                        Elements.setDouble(r, oi + j, v < 0 ? 0 : v);
                    }
                }
            });
        });
    }
}
