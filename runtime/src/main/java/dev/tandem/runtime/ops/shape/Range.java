package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Range (opset 11+): {@code start, start+delta, ...} below {@code limit} (above, for a negative delta), of the
 * inputs' type (float32, float64, int32, int64). The scalars must be known at plan time (the output size depends
 * on them): {@code max(ceil((limit - start) / delta), 0)} elements.
 */
public final class Range implements Op {
    @Override
    public String type() {
        return "Range";
    }

    @Override
    public int minOpset() {
        return 11;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType dt = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64);
        for (int i = 1; i < 3; i++) {
            if (ctx.dtype(i) != dt) {
                throw ctx.fail("input " + i + " is " + ctx.typeName(i) + "; start is " + ctx.typeName(0));
            }
        }
        for (int i = 0; i < 3; i++) {
            if (ctx.constant(i) == null) {
                throw ctx.unsupported("Range input " + i + " must be known before the model runs (the output size "
                        + "depends on it); here it depends on run-time data");
            }
            if (ctx.shape(i).size() != 1) {
                throw ctx.fail("input " + i + " must be a scalar, has shape " + ctx.shape(i));
            }
        }
        Tensor[] c = {ctx.constant(0), ctx.constant(1), ctx.constant(2)};
        int n;
        if (dt.isFloatingPoint()) {
            double start = Elements.getDouble(c[0].contiguous(), 0);
            double limit = Elements.getDouble(c[1].contiguous(), 0);
            double delta = Elements.getDouble(c[2].contiguous(), 0);
            if (delta == 0) {
                throw ctx.fail("delta is 0");
            }
            double count = Math.ceil((limit - start) / delta);
            n = (int) Math.max(0, Math.min(count, Integer.MAX_VALUE));
        } else {
            long start = Elements.getLong(c[0].contiguous(), 0);
            long limit = Elements.getLong(c[1].contiguous(), 0);
            long delta = Elements.getLong(c[2].contiguous(), 0);
            if (delta == 0) {
                throw ctx.fail("delta is 0");
            }
            long num = limit - start;
            long count = num / delta + ((num % delta != 0 && (num > 0) == (delta > 0)) ? 1 : 0);
            n = (int) Math.max(0, Math.min(count, Integer.MAX_VALUE));
        }
        return Prepared.of(dt, Shape.of(n), (x, y) -> {
            if (dt.isFloatingPoint()) {
                double start = Elements.getDouble(x[0], 0);
                double delta = Elements.getDouble(x[2], 0);
                for (int i = 0; i < n; i++) {
                    Elements.setDouble(y[0], i, dt == DType.FLOAT32 ? (float) start + i * (float) delta
                            : start + i * delta);
                }
            } else {
                long start = Elements.getLong(x[0], 0);
                long delta = Elements.getLong(x[2], 0);
                for (int i = 0; i < n; i++) {
                    Elements.setLong(y[0], i, start + i * delta);
                }
            }
        });
    }
}
