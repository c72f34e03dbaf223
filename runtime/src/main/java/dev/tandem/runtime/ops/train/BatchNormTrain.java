package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * {@code dev.tandem.BatchNormTrain(X, scale, B, running_mean, running_var) → Y, saved_mean, saved_invstd}: batch
 * normalisation in training mode over {@code X [N, C, ...]}. Normalises with the batch's mean and biased variance,
 * returns them (as mean and 1/sqrt(var + epsilon)) for the gradient, and updates the running statistics <b>in
 * place</b> as PyTorch does: {@code r = (1 - momentum)·r + momentum·batch}, with the unbiased variance for
 * {@code running_var}. Attributes {@code epsilon} (1e-5) and {@code momentum} (0.1), and {@code activation}: ""
 * (none) or {@code "Relu"}, applied to Y as it is written (the training step's
 * {@link dev.tandem.runtime.graph.passes.BatchNormReluFusion}; Y is then the Relu's output). Float32 and float64.
 */
public final class BatchNormTrain implements Op {
    @Override
    public String type() {
        return "BatchNormTrain";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public int[] mutatedInputs(int inputCount) {
        return new int[] {3, 4};
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(0);
        if (x.rank() < 2) {
            throw ctx.fail("input must be [N, C, ...]; got " + x);
        }
        int n = x.dim(0), c = x.dim(1);
        int inner = (int) (x.size() / Math.max(1, (long) n * c));
        Shape cs = Shape.of(c);
        for (int i = 1; i <= 4; i++) {
            ctx.requireType(i, t);
            if (!ctx.shape(i).equals(cs)) {
                throw ctx.fail("input " + i + " must be [" + c + "]; got " + ctx.shape(i));
            }
        }
        long count = (long) n * inner;
        if (count < 2) {
            throw ctx.fail("training-mode batch normalisation needs more than one value per channel; got input " + x
                    + " (use a batch larger than 1)");
        }
        double eps = ctx.attrFloat("epsilon", 1e-5f);
        double momentum = ctx.attrFloat("momentum", 0.1f);
        boolean relu = relu(ctx);
        var pool = ctx.pool();
        List<Prepared.Output> outs = List.of(new Prepared.Output(t, x), new Prepared.Output(t, cs),
                new Prepared.Output(t, cs));
        if (t == DType.FLOAT32) {
            return Prepared.of(outs, (in, out) -> pool.parallelFor(c, ch -> channelFloat(in, out, ch, n, c, inner, eps,
                    momentum, relu)));
        }
        return Prepared.of(outs, (in, out) -> pool.parallelFor(c, ch -> channel(in, out, ch, n, c, inner, eps,
                momentum, relu)));
    }

    /** Whether the node's {@code activation} attribute asks for Relu ("" for none; anything else is refused). */
    static boolean relu(OpContext ctx) {
        String act = ctx.attrString("activation", "");
        if (!act.isEmpty() && !act.equals("Relu")) {
            throw ctx.fail("activation must be \"\" or \"Relu\"; got \"" + act + "\"");
        }
        return act.equals("Relu");
    }

    /** The float32 path: SIMD passes over the channel's planes, sums in double (two passes: mean, then variance). */
    private static void channelFloat(Tensor[] in, Tensor[] out, int ch, int n, int c, int inner, double eps,
                                     double momentum, boolean relu) {
        MemorySegment xs = in[0].segment();
        long xo = in[0].offset();
        float pivot = xs.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xo + (long) ch * inner);
        double sum = 0;
        for (int b = 0; b < n; b++) {
            sum += TrainKernels.sum(xs, xo + ((long) b * c + ch) * inner, inner, pivot);
        }
        long count = (long) n * inner;
        double mean = pivot + sum / count;
        float mf = (float) mean;
        double sq = 0;
        for (int b = 0; b < n; b++) {
            sq += TrainKernels.sumSquaredDeviation(xs, xo + ((long) b * c + ch) * inner, inner, mf);
        }
        // Σ(x - mean)² from the sum around the rounded mean
        sq = Math.max(0, sq - count * (mean - mf) * (mean - mf));
        double var = sq / count;
        double invstd = 1 / Math.sqrt(var + eps);
        double scale = get(in[1], ch) * invstd;
        float low = (float) (mean - mf);
        MemorySegment ys = out[0].segment();
        long yo = out[0].offset();
        for (int b = 0; b < n; b++) {
            long off = ((long) b * c + ch) * inner;
            TrainKernels.normalize(xs, xo + off, ys, yo + off, inner, mf, low, (float) scale, (float) get(in[2], ch),
                    relu);
        }
        set(out[1], ch, mean);
        set(out[2], ch, invstd);
        set(in[3], ch, (1 - momentum) * get(in[3], ch) + momentum * mean);
        set(in[4], ch, (1 - momentum) * get(in[4], ch) + momentum * sq / (count - 1));
    }

    static double get(Tensor t, int i) {
        return t.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() + i);
    }

    static void set(Tensor t, int i, double v) {
        t.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() + i, (float) v);
    }

    private static void channel(Tensor[] in, Tensor[] out, int ch, int n, int c, int inner, double eps,
                                double momentum, boolean relu) {
        double[][] planes = new double[n][];
        double sum = 0;
        for (int b = 0; b < n; b++) {
            planes[b] = Doubles.read(in[0], ((long) b * c + ch) * inner, inner);
            for (double v : planes[b]) {
                sum += v;
            }
        }
        long count = (long) n * inner;
        double mean = sum / count;
        double sq = 0;
        for (double[] p : planes) {
            for (double v : p) {
                sq += (v - mean) * (v - mean);
            }
        }
        double var = sq / count;
        double invstd = 1 / Math.sqrt(var + eps);
        double scale = Doubles.read(in[1], ch, 1)[0] * invstd;
        double shift = Doubles.read(in[2], ch, 1)[0] - mean * scale;
        for (int b = 0; b < n; b++) {
            double[] p = planes[b];
            for (int i = 0; i < inner; i++) {
                p[i] = p[i] * scale + shift;
                if (relu) {
                    p[i] = p[i] < 0 ? 0 : p[i];
                }
            }
            Doubles.write(p, out[0], ((long) b * c + ch) * inner);
        }
        Doubles.write(new double[] {mean}, out[1], ch);
        Doubles.write(new double[] {invstd}, out[2], ch);
        double rm = Doubles.read(in[3], ch, 1)[0];
        double rv = Doubles.read(in[4], ch, 1)[0];
        Doubles.write(new double[] {(1 - momentum) * rm + momentum * mean}, in[3], ch);
        Doubles.write(new double[] {(1 - momentum) * rv + momentum * sq / (count - 1)}, in[4], ch);
    }
}
