package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;

/**
 * ConvInteger (opset 10): {@code y = conv(x − x_zero_point, w − w_zero_point)} in int32; 8-bit x and w, zero points
 * optional (w's per tensor or per output channel); every Conv attribute, 1-D and 2-D. Exact; a reduction longer
 * than {@link QConvCore#EXACT_K} terms per output is refused as unsupported.
 */
public final class ConvInteger implements Op {
    @Override
    public String type() {
        return "ConvInteger";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        return QConvCore.prepare(ctx, "ConvInteger", 0, 2, 1, 3, DType.INT32, -1, null, in -> null);
    }
}
