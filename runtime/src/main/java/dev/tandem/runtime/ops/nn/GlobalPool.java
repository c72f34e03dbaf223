package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Pooling;
import dev.tandem.runtime.kernels.reference.ReferencePooling;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * GlobalAveragePool and GlobalMaxPool (one class, registered per type), any spatial rank >= 1: the mean or maximum
 * of each {@code [n, c]} plane; the output keeps the rank with every spatial dimension 1. Float32 runs
 * {@link Pooling}, float64 the scalar {@link ReferencePooling}.
 */
public final class GlobalPool implements Op {
    private final boolean max;

    public GlobalPool(boolean max) {
        this.max = max;
    }

    @Override
    public String type() {
        return max ? "GlobalMaxPool" : "GlobalAveragePool";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(0);
        if (x.rank() < 3) {
            throw ctx.fail(type() + " input must be [N, C, spatial...]; got " + x);
        }
        int[] od = x.dims();
        long plane = 1;
        for (int i = 2; i < od.length; i++) {
            plane *= od[i];
            od[i] = 1;
        }
        Shape x4 = Shape.of(x.dim(0), x.dim(1), 1, Math.toIntExact(plane));
        Shape o4 = Shape.of(x.dim(0), x.dim(1), 1, 1);
        if (t == DType.FLOAT64) {
            int n = x.dim(0), c = x.dim(1), w = Math.toIntExact(plane);
            return Prepared.of(t, Shape.of(od), (in, out) -> {
                double[] xv = Elements.toDoubles(in[0]);
                Elements.setDoubles(out[0], max ? ReferencePooling.globalMaxPool(xv, n, c, 1, w)
                        : ReferencePooling.globalAveragePool(xv, n, c, 1, w));
            });
        }
        return Prepared.of(DType.FLOAT32, Shape.of(od), (in, out) -> {
            Tensor xc = in[0].contiguous();
            try {
                Tensor xi = Tensor.wrap(xc.segment(), xc.offset(), DType.FLOAT32, x4);
                Tensor yo = Tensor.wrap(out[0].segment(), out[0].offset(), DType.FLOAT32, o4);
                if (max) {
                    Pooling.globalMaxPool(ctx.pool(), xi, yo);
                } else {
                    Pooling.globalAveragePool(ctx.pool(), xi, yo);
                }
            } finally {
                Gemm.closeCopy(xc, in[0]);
            }
        });
    }
}
