package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.ConvParams;
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
 * MaxPool and AveragePool (one class, registered per type), 1-D and 2-D: kernel_shape, strides, pads, auto_pad,
 * dilations, ceil_mode; AveragePool's count_include_pad. Float32 runs {@link Pooling}, float64 the scalar
 * {@link ReferencePooling}. MaxPool's Indices output and 3-D pools are unsupported; storage_order only matters for
 * Indices and is ignored.
 */
public final class Pool implements Op {
    private final boolean max;

    public Pool(boolean max) {
        this.max = max;
    }

    @Override
    public String type() {
        return max ? "MaxPool" : "AveragePool";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        String op = type();
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        if (Geometry.hasOutput(ctx, 1)) {
            throw ctx.unsupported("MaxPool's Indices output");
        }
        Shape x = ctx.shape(0);
        int r = Geometry.spatialRank(ctx, x, op);
        long[] ks = ctx.attrInts("kernel_shape");
        if (ks == null || ks.length != r) {
            throw ctx.fail(op + " needs kernel_shape with " + r + " values");
        }
        int[] kernel = new int[r];
        for (int i = 0; i < r; i++) {
            kernel[i] = Math.toIntExact(ks[i]);
        }
        boolean ceil = ctx.attrInt("ceil_mode", 0) != 0;
        boolean includePad = ctx.attrInt("count_include_pad", 0) != 0;
        ConvParams p = Geometry.params(ctx, Geometry.spatial(x), kernel, 1);
        Shape out = Geometry.outShape(ctx, x, x.dim(1), p, ceil);
        Shape x4 = Geometry.as4d(x), o4 = Geometry.as4d(out);
        if (t == DType.FLOAT64) {
            int n = x4.dim(0), c = x4.dim(1), h = x4.dim(2), w = x4.dim(3);
            return Prepared.of(t, out, (in, outs) -> {
                double[] xv = Elements.toDoubles(in[0]);
                Elements.setDoubles(outs[0], max ? ReferencePooling.maxPool(xv, n, c, h, w, p, ceil)
                        : ReferencePooling.averagePool(xv, n, c, h, w, p, ceil, includePad));
            });
        }
        return Prepared.of(DType.FLOAT32, out, (in, outs) -> {
            Tensor xc = in[0].contiguous();
            try {
                Tensor xi = Tensor.wrap(xc.segment(), xc.offset(), DType.FLOAT32, x4);
                Tensor yo = Tensor.wrap(outs[0].segment(), outs[0].offset(), DType.FLOAT32, o4);
                if (max) {
                    Pooling.maxPool(ctx.pool(), xi, yo, p, ceil);
                } else {
                    Pooling.averagePool(ctx.pool(), xi, yo, p, ceil, includePad);
                }
            } finally {
                Gemm.closeCopy(xc, in[0]);
            }
        });
    }
}
