package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Softmax;
import dev.tandem.runtime.kernels.reference.ReferenceSoftmax;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Softmax and LogSoftmax (one class, registered per type): float32 via {@link Softmax}, float64 via the scalar
 * {@link ReferenceSoftmax}. Before opset 13 the input is coerced to 2-D at {@code axis} (default 1) and normalized
 * over the flattened trailing part; from 13 over the single {@code axis} (default -1).
 */
public final class SoftmaxOp implements Op {
    private final boolean log;

    public SoftmaxOp(boolean log) {
        this.log = log;
    }

    @Override
    public String type() {
        return log ? "LogSoftmax" : "Softmax";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(0);
        boolean legacy = ctx.opset() < 13;
        int axis;
        try {
            axis = x.rank() == 0 ? 0 : x.normalizeAxis(Math.toIntExact(ctx.attrInt("axis", legacy ? 1 : -1)));
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        if (x.rank() == 0) {
            throw ctx.fail(type() + " input must have rank >= 1");
        }
        Shape view;
        int runAxis;
        if (legacy) {
            long outer = 1;
            for (int i = 0; i < axis; i++) {
                outer *= x.dim(i);
            }
            view = Shape.of(Math.toIntExact(outer), Math.toIntExact(x.size() / Math.max(1, outer)));
            runAxis = 1;
        } else {
            view = x;
            runAxis = axis;
        }
        if (t == DType.FLOAT64) {
            int outer = 1, inner = 1, n = view.dim(runAxis);
            for (int i = 0; i < runAxis; i++) {
                outer *= view.dim(i);
            }
            for (int i = runAxis + 1; i < view.rank(); i++) {
                inner *= view.dim(i);
            }
            int o = outer, in = inner;
            return Prepared.of(t, x, (ins, out) -> Elements.setDoubles(out[0],
                    ReferenceSoftmax.softmax(Elements.toDoubles(ins[0]), o, n, in, log)));
        }
        return Prepared.of(DType.FLOAT32, x, (in, out) -> {
            Tensor xc = in[0].contiguous();
            try {
                Tensor xi = Tensor.wrap(xc.segment(), xc.offset(), DType.FLOAT32, view);
                Tensor yo = Tensor.wrap(out[0].segment(), out[0].offset(), DType.FLOAT32, view);
                if (x.size() == 0) {
                    return;
                }
                if (log) {
                    Softmax.logSoftmax(ctx.pool(), xi, yo, runAxis);
                } else {
                    Softmax.softmax(ctx.pool(), xi, yo, runAxis);
                }
            } finally {
                Gemm.closeCopy(xc, in[0]);
            }
        });
    }
}
