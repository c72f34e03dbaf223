package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.kernels.reference.ReferenceActivation;
import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.kernels.reference.ReferenceElementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * The float64 path of Conv and FusedConv: {@link ReferenceConv} in double on the inputs as they come (weights
 * read on every run, so constant and run-time weights are the same case), then FusedConv's residual Z (numpy
 * broadcast) and activation. Slow and obvious by design: float64 serves gradient checks, not speed.
 */
final class ConvFloat64 {
    private ConvFloat64() {
    }

    /**
     * @param x        X's shape, [N, C, (H,) W], already checked against W, B and the geometry {@code p}
     * @param residual input index of Z, or -1
     * @param outShape the convolution's output shape
     */
    static Prepared prepare(OpContext ctx, ConvParams p, Shape x, int m, boolean hasBias, int residual,
                            Activation act, Shape outShape) {
        Shape x4 = Geometry.as4d(x);
        int n = x4.dim(0), c = x4.dim(1), h = x4.dim(2), w = x4.dim(3);
        long macs = outShape.size() * (long) (c / p.groups()) * p.kernelH() * p.kernelW();
        if (residual < 0) {
            return Prepared.of(DType.FLOAT64, outShape, macs, (in, out) -> Elements.setDoubles(out[0],
                    ReferenceConv.conv2d(Elements.toDoubles(in[0]), n, c, h, w, Elements.toDoubles(in[1]), m,
                            hasBias ? Elements.toDoubles(in[2]) : null, p, act)));
        }
        Shape zs = ctx.shape(residual);
        Shape sum;
        try {
            sum = Shape.broadcast(outShape, zs);
        } catch (IllegalArgumentException e) {
            throw ctx.fail("residual Z " + zs + " does not broadcast with the output " + outShape);
        }
        return Prepared.of(DType.FLOAT64, sum, macs, (in, out) -> {
            double[] conv = ReferenceConv.conv2d(Elements.toDoubles(in[0]), n, c, h, w, Elements.toDoubles(in[1]),
                    m, hasBias ? Elements.toDoubles(in[2]) : null, p, Activation.NONE);
            double[] y = ReferenceElementwise.binary(Elementwise.BinaryOp.ADD, conv, outShape,
                    Elements.toDoubles(in[residual]), zs);
            for (int i = 0; i < y.length; i++) {
                y[i] = ReferenceActivation.apply(act, y[i]);
            }
            Elements.setDoubles(out[0], y);
        });
    }
}
