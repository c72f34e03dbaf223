package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.ByteTable;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * {@code dev.tandem.QLookup}: an element-wise function of an 8-bit tensor given as a table, which
 * {@link dev.tandem.runtime.graph.passes.QdqLookupFusion} makes from {@code DequantizeLinear → element-wise
 * activation(s) → QuantizeLinear} (SiLU, Sigmoid, HardSwish...). Inputs: x (uint8 or int8, any shape) and table
 * (uint8 or int8 {@code [256]}, known at plan time; the output's type), indexed by x's byte read as unsigned
 * ({@code 0..255}: an int8 value v at {@code v & 0xFF}). Output: x's shape, {@code y[i] = table[x[i] & 0xFF]}.
 */
public final class QLookup implements Op {
    @Override
    public String type() {
        return "QLookup";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.UINT8, DType.INT8);
        DType ty = ctx.requireType(1, DType.UINT8, DType.INT8);
        Tensor t = ctx.constant(1);
        if (t == null || t.size() != 256 || ctx.shape(1).rank() != 1) {
            throw ctx.unsupported("QLookup needs its table as a constant of 256 8-bit values; got "
                    + ctx.shape(1) + (t == null ? " known only at run time" : ""));
        }
        byte[] bytes = new byte[256];
        Tensor tc = t.contiguous();
        try {
            java.lang.foreign.MemorySegment.copy(tc.segment(), ValueLayout.JAVA_BYTE, tc.offset(), bytes, 0, 256);
        } finally {
            if (tc != t) {
                tc.close();
            }
        }
        ByteTable table = new ByteTable(bytes);
        long count = ctx.shape(0).size();
        return Prepared.of(ty, ctx.shape(0), (in, out) -> {
            Tensor x = in[0].contiguous();
            try {
                table.apply(x.segment(), x.offset(), out[0].segment(), out[0].offset(), count);
            } finally {
                if (x != in[0]) {
                    x.close();
                }
            }
        });
    }
}
