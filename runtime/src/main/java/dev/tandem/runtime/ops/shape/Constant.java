package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Constant: a tensor from exactly one attribute — {@code value} (a tensor), {@code value_float},
 * {@code value_floats}, {@code value_int}, {@code value_ints} (opset 12). Sparse and string values are
 * unsupported. Having no inputs, it is always folded by the planner.
 */
public final class Constant implements Op {
    @Override
    public String type() {
        return "Constant";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        if (ctx.hasAttr("sparse_value")) {
            throw ctx.unsupported("sparse constants are not supported");
        }
        if (ctx.hasAttr("value_string") || ctx.hasAttr("value_strings")) {
            throw ctx.unsupported("string tensors are not supported");
        }
        if (ctx.hasAttr("value")) {
            Tensor t = ctx.attrTensor("value");
            return Prepared.of(t.dtype(), t.shape(), (x, y) -> y[0].copyFrom(t));
        }
        if (ctx.hasAttr("value_float")) {
            float v = ctx.attrFloat("value_float", 0);
            return Prepared.of(DType.FLOAT32, Shape.scalar(), (x, y) -> Elements.setDouble(y[0], 0, v));
        }
        if (ctx.hasAttr("value_floats")) {
            float[] v = ctx.attrFloats("value_floats");
            return Prepared.of(DType.FLOAT32, Shape.of(v.length), (x, y) -> y[0].copyFrom(v));
        }
        if (ctx.hasAttr("value_int")) {
            long v = ctx.attrInt("value_int", 0);
            return Prepared.of(DType.INT64, Shape.scalar(), (x, y) -> Elements.setLong(y[0], 0, v));
        }
        if (ctx.hasAttr("value_ints")) {
            long[] v = ctx.attrInts("value_ints");
            return Prepared.of(DType.INT64, Shape.of(v.length), (x, y) -> {
                for (int i = 0; i < v.length; i++) {
                    Elements.setLong(y[0], i, v[i]);
                }
            });
        }
        throw ctx.fail("has no value attribute");
    }
}
