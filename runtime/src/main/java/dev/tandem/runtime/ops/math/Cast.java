package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Cast (opset 1+, target type from attribute {@code to}) and CastLike (opset 15+, target type of input 1):
 * converts every element between the types Tandem holds. Integers and bool convert exactly through long (narrowing
 * wraps around, as C); floats convert through double: to another float type by rounding to nearest, to an integer
 * type by truncating toward zero (as a C cast), to bool as {@code x != 0}. Any other target type (float16,
 * bfloat16, string, float8...) is unsupported. Casting to the input's own type is a no-copy alias. The
 * {@code saturate} attribute (opset 19) only concerns float8 types, which are unsupported anyway.
 */
final class Cast implements Op {
    private final boolean like;

    /** @param like true for CastLike */
    Cast(boolean like) {
        this.like = like;
    }

    @Override
    public String type() {
        return like ? "CastLike" : "Cast";
    }

    @Override
    public int minOpset() {
        return like ? 15 : 1;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType from = ctx.dtype(0);
        DType to;
        if (like) {
            to = ctx.dtype(1);
        } else {
            if (!ctx.hasAttr("to")) {
                throw ctx.fail("attribute 'to' is required");
            }
            Object v = ctx.node().attribute("to").value();
            if (v instanceof String s) {
                throw ctx.unsupported("Cast to type named '" + s + "' (opset 1 form) is not supported");
            }
            long code = ctx.attrInt("to", 0);
            try {
                to = DType.fromOnnx((int) code);
            } catch (IllegalArgumentException e) {
                throw ctx.unsupported("cast to ONNX type " + code + ": " + e.getMessage());
            }
        }
        if (from == to) {
            return Prepared.alias(0, to, ctx.shape(0));
        }
        boolean viaDouble = from.isFloatingPoint();
        return Prepared.of(to, ctx.shape(0), (in, out) -> {
            Tensor x = in[0], r = out[0];
            Broadcasting.forEachRow(r.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
                long p = offs[0];
                for (int j = 0; j < len; j++, p += steps[0]) {
                    if (viaDouble) {
                        Elements.setDouble(r, oi + j, Elements.getDouble(x, p));
                    } else {
                        Elements.setLong(r, oi + j, Elements.getLong(x, p));
                    }
                }
            });
        });
    }
}
