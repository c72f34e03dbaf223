package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * {@code dev.tandem.BatchNormGrad(dY, X, scale, saved_mean, saved_invstd[, Y]) → dX, dScale, dB}: the gradient of
 * {@link BatchNormTrain} (batch statistics depend on X, so dX has the two correction terms). With attribute
 * {@code activation = "Relu"} it is the gradient of a BatchNormTrain with that fused Relu: dY is the gradient of the
 * Relu's output Y (input 5, required then), taken as {@code Y > 0 ? dY : 0} as the Relu's own gradient does.
 * Float32 and float64.
 */
public final class BatchNormGrad implements Op {
    @Override
    public String type() {
        return "BatchNormGrad";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(1);
        ctx.requireType(1, t);
        if (!ctx.shape(0).equals(x) || x.rank() < 2) {
            throw ctx.fail("dY " + ctx.shape(0) + " and X " + x + " must have the same [N, C, ...] shape");
        }
        int n = x.dim(0), c = x.dim(1);
        int inner = (int) (x.size() / Math.max(1, (long) n * c));
        Shape cs = Shape.of(c);
        for (int i = 2; i <= 4; i++) {
            ctx.requireType(i, t);
            if (!ctx.shape(i).equals(cs)) {
                throw ctx.fail("input " + i + " must be [" + c + "]; got " + ctx.shape(i));
            }
        }
        boolean relu = BatchNormTrain.relu(ctx);
        if (relu != ctx.hasInput(5)) {
            throw ctx.fail(relu ? "activation Relu needs the Relu's output Y as input 5"
                    : "input 5 (a fused Relu's output) is only read with activation Relu");
        }
        if (relu) {
            ctx.requireType(5, t);
            if (!ctx.shape(5).equals(x)) {
                throw ctx.fail("Y " + ctx.shape(5) + " must have X's shape " + x);
            }
        }
        var pool = ctx.pool();
        List<Prepared.Output> outs = List.of(new Prepared.Output(t, x), new Prepared.Output(t, cs),
                new Prepared.Output(t, cs));
        if (t == DType.FLOAT32) {
            return Prepared.of(outs, (in, out) -> pool.parallelFor(c, ch -> channelFloat(in, out, ch, n, c, inner)));
        }
        return Prepared.of(outs, (in, out) -> pool.parallelFor(c, ch -> channel(in, out, ch, n, c, inner)));
    }

    /**
     * The float32 path: one SIMD pass for the two sums (double per plane), one for {@code dx = a·dy + b·(x - mean)
     * + c}, the coefficients computed in double.
     */
    private static void channelFloat(Tensor[] in, Tensor[] out, int ch, int n, int c, int inner) {
        float mean = (float) BatchNormTrain.get(in[3], ch);
        double invstd = BatchNormTrain.get(in[4], ch);
        double scale = BatchNormTrain.get(in[2], ch);
        MemorySegment dys = in[0].segment(), xs = in[1].segment(), dxs = out[0].segment();
        long dyo = in[0].offset(), xo = in[1].offset(), dxo = out[0].offset();
        Tensor y = in.length > 5 ? in[5] : null;
        MemorySegment ys = y == null ? null : y.segment();
        long yo = y == null ? 0 : y.offset();
        double[] sums = new double[2];
        for (int b = 0; b < n; b++) {
            long off = ((long) b * c + ch) * inner;
            TrainKernels.gradSums(dys, dyo + off, ys, yo + off, xs, xo + off, inner, mean, sums);
        }
        double sumDy = sums[0], sumDyXh = sums[1] * invstd;
        long count = (long) n * inner;
        double k = scale * invstd / count;
        // dx = k·(count·dy - Σdy - xh·Σdy·xh), xh = (x - mean)·invstd
        float a = (float) (k * count), bb = (float) (-k * sumDyXh * invstd), cc = (float) (-k * sumDy);
        for (int b = 0; b < n; b++) {
            long off = ((long) b * c + ch) * inner;
            TrainKernels.gradApply(dys, dyo + off, ys, yo + off, xs, xo + off, dxs, dxo + off, inner, a, bb, mean,
                    cc);
        }
        BatchNormTrain.set(out[1], ch, sumDyXh);
        BatchNormTrain.set(out[2], ch, sumDy);
    }

    private static void channel(Tensor[] in, Tensor[] out, int ch, int n, int c, int inner) {
        double mean = Doubles.read(in[3], ch, 1)[0];
        double invstd = Doubles.read(in[4], ch, 1)[0];
        double scale = Doubles.read(in[2], ch, 1)[0];
        double[][] dy = new double[n][];
        double[][] xh = new double[n][];
        double sumDy = 0, sumDyXh = 0;
        for (int b = 0; b < n; b++) {
            long off = ((long) b * c + ch) * inner;
            dy[b] = Doubles.read(in[0], off, inner);
            xh[b] = Doubles.read(in[1], off, inner);
            if (in.length > 5 && in[5] != null) {
                double[] y = Doubles.read(in[5], off, inner);
                for (int i = 0; i < inner; i++) {
                    dy[b][i] = y[i] > 0 ? dy[b][i] : 0;
                }
            }
            for (int i = 0; i < inner; i++) {
                xh[b][i] = (xh[b][i] - mean) * invstd;
                sumDy += dy[b][i];
                sumDyXh += dy[b][i] * xh[b][i];
            }
        }
        long count = (long) n * inner;
        double k = scale * invstd / count;
        for (int b = 0; b < n; b++) {
            double[] g = dy[b];
            for (int i = 0; i < inner; i++) {
                g[i] = k * (count * g[i] - sumDy - xh[b][i] * sumDyXh);
            }
            Doubles.write(g, out[0], ((long) b * c + ch) * inner);
        }
        Doubles.write(new double[] {sumDyXh}, out[1], ch);
        Doubles.write(new double[] {sumDy}, out[2], ch);
    }
}
