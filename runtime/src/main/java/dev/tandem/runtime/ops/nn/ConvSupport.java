package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * The preparation Conv and FusedConv share: checks X [N, C, (H,) W], W [M, C/group, (kH,) kW], B [M], and (FusedConv)
 * Z of the output's shape; builds a {@link Conv2d} with the weights packed once when W and B are known at plan
 * time, or per run otherwise (correct, slower). Float64 runs the scalar {@link ConvFloat64} instead.
 */
final class ConvSupport {
    private ConvSupport() {
    }

    /**
     * @param act      activation fused after bias (and residual)
     * @param residual input index of the residual Z, or -1
     */
    static Prepared prepare(OpContext ctx, String op, Activation act, int residual) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        Shape x = ctx.shape(0);
        Shape wShape = ctx.shape(1);
        int r = Geometry.spatialRank(ctx, x, op);
        if (wShape.rank() != x.rank()) {
            throw ctx.fail(op + " weights must have rank " + x.rank() + "; got shape " + wShape);
        }
        int group = Math.toIntExact(ctx.attrInt("group", 1));
        int c = x.dim(1), m = wShape.dim(0);
        if (group < 1 || c % group != 0 || m % group != 0 || wShape.dim(1) * group != c) {
            throw ctx.fail(op + " with " + c + " input channels and group " + group + " needs weights [M, "
                    + (group < 1 ? "?" : c / group) + ", ...] with M divisible by group; got " + wShape);
        }
        int[] kernel = Geometry.spatial(wShape);
        long[] ks = ctx.attrInts("kernel_shape");
        if (ks != null) {
            if (ks.length != r) {
                throw ctx.fail("kernel_shape must have " + r + " values");
            }
            for (int i = 0; i < r; i++) {
                if (ks[i] != kernel[i]) {
                    throw ctx.fail("kernel_shape " + java.util.Arrays.toString(ks) + " disagrees with weights "
                            + wShape);
                }
            }
        }
        boolean hasBias = ctx.hasInput(2);
        if (hasBias) {
            ctx.requireType(2, t);
            if (ctx.shape(2).rank() != 1 || ctx.shape(2).dim(0) != m) {
                throw ctx.fail(op + " bias must be [" + m + "]; got " + ctx.shape(2));
            }
        }
        ConvParams p = Geometry.params(ctx, Geometry.spatial(x), kernel, group);
        Shape outShape = Geometry.outShape(ctx, x, m, p, false);
        boolean hasZ = residual >= 0 && ctx.hasInput(residual);
        if (hasZ) {
            ctx.requireType(residual, t);
        }
        if (t == DType.FLOAT64) {
            return ConvFloat64.prepare(ctx, p, x, m, hasBias, hasZ ? residual : -1, act, outShape);
        }
        if (hasZ) {
            Shape zs = ctx.shape(residual);
            if (!zs.equals(outShape)) {
                // The optimizer fused an Add whose other operand broadcasts: convolve, then add and activate.
                Shape sum;
                try {
                    sum = Shape.broadcast(outShape, zs);
                } catch (IllegalArgumentException e) {
                    throw ctx.fail(op + " residual Z " + zs + " does not broadcast with the output " + outShape);
                }
                Prepared plain = prepare(ctx, op, Activation.NONE, -1);
                Kernel conv = plain.kernel();
                ThreadPool pool = ctx.pool();
                return Prepared.of(DType.FLOAT32, sum, plain.multiplyAdds(), (in, out) -> {
                    try (Tensor tmp = Tensor.allocate(DType.FLOAT32, outShape)) {
                        conv.run(in, new Tensor[] {tmp});
                        Elementwise.binary(pool, Elementwise.BinaryOp.ADD, tmp, in[residual], out[0]);
                        Elementwise.activate(pool, act, out[0]);
                    }
                });
            }
        }
        Shape x4 = Geometry.as4d(x);
        Shape w4 = Shape.of(m, c / group, p.kernelH(), p.kernelW());
        int n = x4.dim(0), h = x4.dim(2), w = x4.dim(3);
        long macs = outShape.size() * (long) (c / group) * p.kernelH() * p.kernelW();
        Sgemm gemm = ctx.gemm();
        Tensor wConst = ctx.constant(1);
        Tensor bConst = hasBias ? ctx.constant(2) : null;
        Kernel kernel4;
        if (wConst != null && (!hasBias || bConst != null)) {
            // Packed once per model (PackedWeights), shared by every plan. Where the geometry cannot change between
            // plans (explicit pads), the node reads its weights only packed from now on, so the model may free the
            // graph's copy, and a 3×3 convolution that takes Winograd at this image size keeps only Winograd's
            // weights (Conv2d.prepareFor).
            boolean fixedGeometry = PackedWeights.fixedGeometry(ctx);
            boolean onePath = fixedGeometry && ctx.packs().releases();
            Conv2d conv = ctx.packs().get(new PackKey(ctx.node(), p, act), () -> {
                PackedWeights.requireUnreleased(ctx, op, wConst, bConst);
                Tensor src = wConst.contiguous();
                try {
                    Tensor wt = Tensor.wrap(src.segment(), src.offset(), DType.FLOAT32, w4);
                    float[] bias = hasBias ? bConst.toFloatArray() : null;
                    return onePath ? Conv2d.prepareFor(p, c, wt, bias, act, h, w) : Conv2d.prepare(p, c, wt, bias, act);
                } finally {
                    if (src != wConst) {
                        src.close();
                    }
                }
            }, Conv2d::weightBytes);
            if (fixedGeometry) {
                if (hasBias) {
                    ctx.packs().packedOnly(ctx.node(), 1, 2);
                } else {
                    ctx.packs().packedOnly(ctx.node(), 1);
                }
            }
            kernel4 = (in, out) -> run(conv, gemm, in[0], hasZ ? in[residual] : null, out[0], n, h, w);
        } else {
            kernel4 = (in, out) -> {
                Tensor wt = in[1].contiguous();
                try {
                    Conv2d conv = Conv2d.prepare(p, c, Tensor.wrap(wt.segment(), wt.offset(), DType.FLOAT32, w4),
                            hasBias ? in[2].toFloatArray() : null, act);
                    run(conv, gemm, in[0], hasZ ? in[residual] : null, out[0], n, h, w);
                } finally {
                    if (wt != in[1]) {
                        wt.close();
                    }
                }
            };
        }
        Prepared prepared = Prepared.of(DType.FLOAT32, outShape, macs, kernel4);
        // Z has the output's shape here (a broadcasting Z took the path above): the output may be written over it
        return hasZ ? prepared.reusing(residual) : prepared;
    }

    /** A convolution's packed weights are the same for every plan with the same node, geometry and activation. */
    private record PackKey(Node node, ConvParams p, Activation act) {
    }

    private static void run(Conv2d conv, Sgemm gemm, Tensor x, Tensor z, Tensor out, int n, int h, int w) {
        Tensor xc = x.contiguous();
        Tensor zc = z == null ? null : z.contiguous();
        try {
            if (zc == null) {
                conv.forward(gemm, xc.segment(), xc.offset(), n, h, w, out.segment(), out.offset());
            } else {
                conv.forward(gemm, xc.segment(), xc.offset(), n, h, w, zc.segment(), zc.offset(), out.segment(),
                        out.offset());
            }
        } finally {
            if (xc != x) {
                xc.close();
            }
            if (zc != null && zc != z) {
                zc.close();
            }
        }
    }
}
