package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * {@code dev.tandem.NllLossGrad(dLoss, X, target, weight?) → dX}: the gradient of ONNX NegativeLogLikelihoodLoss
 * over {@code X [N, C]} with the forward's {@code reduction} ("mean", "sum", "none") and {@code ignore_index}:
 * {@code dX[i, y_i] = -w[y_i]·dLoss / divisor} (divisor {@code Σ w[y_i]} over non-ignored samples for "mean", else 1;
 * for "none" dLoss is per sample), zero elsewhere. X is read only for its shape. Float32 and float64.
 */
public final class NllLossGrad implements Op {
    @Override
    public String type() {
        return "NllLossGrad";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(1, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(1);
        if (x.rank() != 2) {
            throw ctx.unsupported("NegativeLogLikelihoodLoss gradient over input " + x + " (only [N, C] is supported)");
        }
        int n = x.dim(0), c = x.dim(1);
        ctx.requireType(2, DType.INT64, DType.INT32);
        String reduction = ctx.attrString("reduction", "mean");
        boolean hasIgnore = ctx.hasAttr("ignore_index");
        long ignore = ctx.attrInt("ignore_index", 0);
        return Prepared.of(t, x, (in, out) -> {
            double[] dl = Doubles.read(in[0]);
            long[] y = Doubles.readLongs(in[2]);
            double[] w = in.length > 3 && in[3] != null ? Doubles.read(in[3]) : null;
            double divisor = 1;
            if (reduction.equals("mean")) {
                divisor = 0;
                for (int i = 0; i < n; i++) {
                    if (!(hasIgnore && y[i] == ignore)) {
                        divisor += w == null ? 1 : w[label(y, i, c)];
                    }
                }
            }
            double[] d = new double[n * c];
            for (int i = 0; i < n; i++) {
                if (hasIgnore && y[i] == ignore) {
                    continue;
                }
                int k = label(y, i, c);
                double g = reduction.equals("none") ? dl[i] : dl[0] / divisor;
                d[i * c + k] = -(w == null ? 1 : w[k]) * g;
            }
            Doubles.write(d, out[0]);
        });
    }

    private static int label(long[] y, int i, int c) {
        if (y[i] < 0 || y[i] >= c) {
            throw new ModelException("Label " + y[i] + " of sample " + i + " is outside the " + c + " classes");
        }
        return (int) y[i];
    }
}
