package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * {@code dev.tandem.DropoutTrain(X, seed) → Y, mask}: dropout in training mode. Element i is kept with probability
 * {@code 1 - ratio}; the mask holds {@code 1/(1 - ratio)} where kept and 0 elsewhere, and {@code Y = X·mask}. The
 * mask is a pure function of (seed, i) — the int64 scalar {@code seed} is an input so that each training step
 * draws a new mask and a run is reproducible. Attribute {@code ratio} (0.5), in [0, 1).
 */
public final class DropoutTrain implements Op {
    private static final int CHUNK = 1 << 14;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public String type() {
        return "DropoutTrain";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, DType.INT64);
        if (ctx.shape(1).size() != 1) {
            throw ctx.fail("seed must be one int64; got shape " + ctx.shape(1));
        }
        double ratio = ctx.attrFloat("ratio", 0.5f);
        if (!(ratio >= 0 && ratio < 1)) {
            throw ctx.fail("ratio must be in [0, 1); got " + ratio);
        }
        Shape shape = ctx.shape(0);
        long size = shape.size();
        int chunks = (int) ((size + CHUNK - 1) / CHUNK);
        double keep = 1 / (1 - ratio);
        // uniform(seed, i) >= ratio, with uniform = u·2⁻⁵³ for the integer u < 2⁵³: u >= ceil(ratio·2⁵³)
        long threshold = (long) Math.ceil(ratio * 0x1.0p53);
        var pool = ctx.pool();
        if (t == DType.FLOAT32) {
            float keepF = (float) keep;
            return Prepared.of(List.of(new Prepared.Output(t, shape), new Prepared.Output(t, shape)), (in, out) -> {
                long seed = Doubles.readLongs(in[1])[0];
                MemorySegment xs = in[0].segment(), ys = out[0].segment(), ms = out[1].segment();
                long xo = in[0].offset(), yo = out[0].offset(), mo = out[1].offset();
                // the product in double, rounded once: the float64 path's value
                pool.parallelFor(chunks, ci -> {
                    long from = (long) ci * CHUNK, to = Math.min(size, from + CHUNK);
                    TrainKernels.dropout(xs, xo, ys, yo, ms, mo, from, to, seed, threshold, ratio, keep, keepF);
                });
            });
        }
        return Prepared.of(List.of(new Prepared.Output(t, shape), new Prepared.Output(t, shape)), (in, out) -> {
            long seed = Doubles.readLongs(in[1])[0];
            pool.parallelFor(chunks, ci -> {
                long from = (long) ci * CHUNK;
                int n = (int) (Math.min(size, from + CHUNK) - from);
                double[] x = Doubles.read(in[0], from, n);
                double[] m = new double[n];
                for (int i = 0; i < n; i++) {
                    m[i] = uniform(seed, from + i) >= ratio ? keep : 0;
                    x[i] *= m[i];
                }
                Doubles.write(x, out[0], from);
                Doubles.write(m, out[1], from);
            });
        });
    }

    static final long SEED_MIX = 0x9E3779B97F4A7C15L;
    static final long INDEX_MIX = 0xBF58476D1CE4E5B9L;
    static final long OFFSET = 0x94D049BB133111EBL;

    /** A uniform double in [0, 1) from (seed, index): SplitMix64's finaliser over their mix. */
    static double uniform(long seed, long index) {
        long z = seed * SEED_MIX + index * INDEX_MIX + OFFSET;
        z = (z ^ (z >>> 30)) * INDEX_MIX;
        z = (z ^ (z >>> 27)) * OFFSET;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }
}
