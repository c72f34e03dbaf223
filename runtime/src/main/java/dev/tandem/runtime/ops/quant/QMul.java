package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/**
 * {@code dev.tandem.QMul}: the quantized Mul of two 8-bit tensors, which
 * {@link dev.tandem.runtime.graph.passes.QdqElementwiseFusion} makes from {@code DequantizeLinear(a),
 * DequantizeLinear(b) → Mul [→ Relu | Clip] → QuantizeLinear}. Inputs and attributes: {@link QBinary}.
 * {@code y = saturate(rint(act((a − a_zero) · a_scale · (b − b_zero) · b_scale) / y_scale) + y_zero)}.
 */
public final class QMul implements Op {
    @Override
    public String type() {
        return "QMul";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        return QBinary.prepare(ctx, "QMul", true);
    }
}
