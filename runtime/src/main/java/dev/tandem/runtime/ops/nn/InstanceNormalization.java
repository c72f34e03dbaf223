package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * InstanceNormalization (opset 1+), float32: each {@code [n, c]} plane is normalized by its own mean and variance
 * (population), then scaled and shifted per channel. Statistics in double; planes split over threads.
 */
public final class InstanceNormalization implements Op {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public String type() {
        return "InstanceNormalization";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        Shape x = ctx.shape(0);
        if (x.rank() < 3) {
            throw ctx.fail("InstanceNormalization input must be [N, C, spatial...]; got " + x);
        }
        int c = x.dim(1);
        for (int i = 1; i <= 2; i++) {
            ctx.requireType(i, DType.FLOAT32);
            if (ctx.shape(i).size() != c || ctx.shape(i).rank() != 1) {
                throw ctx.fail("InstanceNormalization input " + i + " must be [" + c + "]; got " + ctx.shape(i));
            }
        }
        double eps = ctx.attrFloat("epsilon", 1e-5f);
        int planes = x.dim(0) * c;
        long plane = x.size() / Math.max(1, planes);
        return Prepared.of(DType.FLOAT32, x, (in, out) -> {
            float[] scale = in[1].toFloatArray(), bias = in[2].toFloatArray();
            Tensor xc = in[0].contiguous();
            MemorySegment src = xc.segment(), dst = out[0].segment();
            long so = xc.offset(), d0 = out[0].offset();
            ctx.pool().parallelFor(planes, pi -> {
                long base = (long) pi * plane;
                double sum = 0;
                for (long i = 0; i < plane; i++) {
                    sum += src.getAtIndex(FL, so + base + i);
                }
                double mean = sum / plane, sq = 0;
                for (long i = 0; i < plane; i++) {
                    double d = src.getAtIndex(FL, so + base + i) - mean;
                    sq += d * d;
                }
                int ch = pi % c;
                double a = scale[ch] / Math.sqrt(sq / plane + eps);
                double b = bias[ch] - mean * a;
                for (long i = 0; i < plane; i++) {
                    dst.setAtIndex(FL, d0 + base + i, (float) (src.getAtIndex(FL, so + base + i) * a + b));
                }
            });
            Gemm.closeCopy(xc, in[0]);
        });
    }
}
