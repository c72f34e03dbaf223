package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * LayerNormalization (opset 17), float32: X is seen as {@code [outer, inner]} split at {@code axis} (default -1);
 * each row is normalized by its mean and population variance (in double), then multiplied by Scale and plus B
 * (both broadcast to the normalized shape). Optional outputs Mean and InvStdDev have X's shape with the normalized
 * dimensions set to 1. Rows are split over threads.
 */
public final class LayerNormalization implements Op {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public String type() {
        return "LayerNormalization";
    }

    @Override
    public int minOpset() {
        return 17;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        ctx.requireType(1, DType.FLOAT32);
        Shape x = ctx.shape(0);
        int axis;
        try {
            axis = x.normalizeAxis(Math.toIntExact(ctx.attrInt("axis", -1)));
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        int[] normDims = java.util.Arrays.copyOfRange(x.dims(), axis, x.rank());
        Shape norm = Shape.of(normDims);
        boolean hasB = ctx.hasInput(2);
        checkParam(ctx, 1, norm);
        if (hasB) {
            ctx.requireType(2, DType.FLOAT32);
            checkParam(ctx, 2, norm);
        }
        double eps = ctx.attrFloat("epsilon", 1e-5f);
        long innerL = norm.size();
        int inner = Math.toIntExact(innerL);
        long outer = x.size() / Math.max(1, innerL);
        int[] statDims = x.dims();
        for (int i = axis; i < statDims.length; i++) {
            statDims[i] = 1;
        }
        List<Prepared.Output> outs = new ArrayList<>();
        outs.add(new Prepared.Output(DType.FLOAT32, x));
        for (int i = 1; i < ctx.outputCount(); i++) {
            outs.add(new Prepared.Output(DType.FLOAT32, Shape.of(statDims)));
        }
        float[] scaleConst = ctx.constant(1) == null ? null : expand(ctx.constant(1), norm);
        float[] biasConst = !hasB || ctx.constant(2) == null ? null : expand(ctx.constant(2), norm);
        return Prepared.of(outs, (in, out) -> {
            float[] scale = scaleConst != null ? scaleConst : expand(in[1], norm);
            float[] bias = !hasB ? null : biasConst != null ? biasConst : expand(in[2], norm);
            Tensor xc = in[0].contiguous();
            MemorySegment src = xc.segment(), dst = out[0].segment();
            long so = xc.offset(), d0 = out[0].offset();
            Tensor meanOut = out.length > 1 ? out[1] : null, invOut = out.length > 2 ? out[2] : null;
            int rows = Math.toIntExact(outer);
            int chunks = Math.max(1, Math.min(rows, ctx.pool().threads() * 4));
            ctx.pool().parallelFor(chunks, t -> {
                int r0 = (int) ((long) rows * t / chunks), r1 = (int) ((long) rows * (t + 1) / chunks);
                for (int r = r0; r < r1; r++) {
                    long base = (long) r * inner;
                    double sum = 0;
                    for (int i = 0; i < inner; i++) {
                        sum += src.getAtIndex(FL, so + base + i);
                    }
                    double mean = sum / inner, sq = 0;
                    for (int i = 0; i < inner; i++) {
                        double d = src.getAtIndex(FL, so + base + i) - mean;
                        sq += d * d;
                    }
                    double inv = 1.0 / Math.sqrt(sq / inner + eps);
                    for (int i = 0; i < inner; i++) {
                        double v = (src.getAtIndex(FL, so + base + i) - mean) * inv * scale[i];
                        if (bias != null) {
                            v += bias[i];
                        }
                        dst.setAtIndex(FL, d0 + base + i, (float) v);
                    }
                    if (meanOut != null) {
                        meanOut.segment().setAtIndex(FL, meanOut.offset() + r, (float) mean);
                    }
                    if (invOut != null) {
                        invOut.segment().setAtIndex(FL, invOut.offset() + r, (float) inv);
                    }
                }
            });
            Gemm.closeCopy(xc, in[0]);
        });
    }

    private static void checkParam(OpContext ctx, int i, Shape norm) {
        Shape s = ctx.shape(i);
        try {
            if (!Shape.broadcast(s, norm).equals(norm)) {
                throw ctx.fail("LayerNormalization input " + i + " of shape " + s + " does not broadcast to " + norm);
            }
        } catch (IllegalArgumentException e) {
            throw ctx.fail("LayerNormalization input " + i + " of shape " + s + " does not broadcast to " + norm);
        }
    }

    private static float[] expand(Tensor t, Shape norm) {
        return t.shape().equals(norm) ? t.toFloatArray() : t.broadcastTo(norm).toFloatArray();
    }
}
