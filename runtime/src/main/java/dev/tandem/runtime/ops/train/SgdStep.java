package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code dev.tandem.SgdStep(lr, momentum?, p₀…pₖ₋₁, g₀…gₖ₋₁, m₀…mₖ₋₁) → grad_norm}: one step of PyTorch's SGD over all
 * parameters, updating the parameters and momentum buffers <b>in place</b>. Per parameter (with the gradients first
 * scaled by global-norm clipping when {@code max_grad_norm > 0}): {@code g += weight_decay·p} (where {@code decay}
 * allows), {@code m = momentum·m + g}, {@code g = nesterov ? g + momentum·m : m} (plain {@code g} without momentum),
 * {@code p -= lr·g}. Momentum buffers start at zero, which matches PyTorch's first step. The output is the
 * gradients' global norm before clipping; the momentum is the attribute, or the optional float scalar input 1 when
 * the node has 2 + 3k inputs (a schedule that cycles momentum, as PyTorch's OneCycleLR does); a non-finite norm
 * fails the run and leaves every parameter untouched.
 */
public final class SgdStep implements Op {
    private static final int CHUNK = 1 << 15;

    @Override
    public String type() {
        return "SgdStep";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public int[] mutatedInputs(int inputCount) {
        return OptimizerStep.mutated(inputCount, scalars(inputCount), 1);
    }

    /** 1 (lr), or 2 when a momentum scalar follows lr: the input count tells (1 + 3k or 2 + 3k). */
    static int scalars(int inputCount) {
        return inputCount >= 5 && (inputCount - 2) % 3 == 0 ? 2 : 1;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        int sc = scalars(ctx.inputCount());
        int k = OptimizerStep.check(ctx, sc, 1);
        double momentumAttr = ctx.attrFloat("momentum", 0f);
        boolean momentumIn = sc == 2;
        if (momentumIn) {
            ctx.requireType(1, DType.FLOAT32, DType.FLOAT64);
        }
        boolean nesterov = ctx.attrInt("nesterov", 0) != 0;
        double wd = ctx.attrFloat("weight_decay", 0f);
        double maxNorm = ctx.attrFloat("max_grad_norm", 0f);
        boolean[] decay = OptimizerStep.decayMask(ctx, k);
        DType t = ctx.dtype(sc);
        var pool = ctx.pool();
        boolean allFloat = true;
        // work items of at most CHUNK elements, so that one large parameter does not sit on one thread
        List<long[]> items = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            allFloat &= ctx.dtype(sc + i) == DType.FLOAT32;
            long size = ctx.shape(sc + i).size();
            for (long from = 0; from < size; from += CHUNK) {
                items.add(new long[] {i, from, Math.min(size, from + CHUNK)});
            }
        }
        if (allFloat) {
            return Prepared.of(t, Shape.scalar(), (in, out) -> {
                float lr = (float) Doubles.read(in[0])[0];
                double momentum = momentumIn ? Doubles.read(in[1])[0] : momentumAttr;
                double sq = 0;
                for (int i = 0; i < k; i++) {
                    Tensor g = in[sc + k + i];
                    sq += TrainKernels.sumSquares(g.segment(), g.offset(), g.size());
                }
                double norm = Math.sqrt(sq);
                if (!Double.isFinite(norm)) {
                    throw new ModelException("The gradients are not finite (global norm " + norm + "); the "
                            + "parameters were not updated");
                }
                float clip = (float) OptimizerStep.clipFactor(norm, maxNorm);
                pool.parallelFor(items.size(), w -> {
                    long[] item = items.get(w);
                    int i = (int) item[0];
                    long from = item[1];
                    Tensor p = in[sc + i], g = in[sc + k + i], m = in[sc + 2 * k + i];
                    TrainKernels.sgd(p.segment(), p.offset() + from, g.segment(), g.offset() + from, m.segment(),
                            m.offset() + from, item[2] - from, lr, clip, decay[i] ? (float) wd : 0f, (float) momentum, momentum != 0,
                            nesterov);
                });
                Doubles.write(new double[] {norm}, out[0]);
            });
        }
        return Prepared.of(t, Shape.scalar(), (in, out) -> {
            double lr = Doubles.read(in[0])[0];
            double momentum = momentumIn ? Doubles.read(in[1])[0] : momentumAttr;
            double norm = OptimizerStep.norm(in, sc + k, k);
            if (!Double.isFinite(norm)) {
                throw new ModelException("The gradients are not finite (global norm " + norm + "); the parameters "
                        + "were not updated");
            }
            double clip = OptimizerStep.clipFactor(norm, maxNorm);
            pool.parallelFor(k, i -> {
                double[] p = Doubles.read(in[sc + i]);
                double[] g = Doubles.read(in[sc + k + i]);
                double[] m = Doubles.read(in[sc + 2 * k + i]);
                double d = decay[i] ? wd : 0;
                for (int j = 0; j < p.length; j++) {
                    double gj = g[j] * clip + d * p[j];
                    if (momentum != 0) {
                        m[j] = momentum * m[j] + gj;
                        gj = nesterov ? gj + momentum * m[j] : m[j];
                    }
                    p[j] -= lr * gj;
                }
                Doubles.write(p, in[sc + i]);
                Doubles.write(m, in[sc + 2 * k + i]);
            });
            Doubles.write(new double[] {norm}, out[0]);
        });
    }
}
