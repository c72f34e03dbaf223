package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * {@code dev.tandem.ActivationGrad(dY, X?, Y?, min?, max?) → dX}: the gradient of an element-wise activation named
 * by the {@code activation} attribute, from its input X or its output Y (whichever the rule needs: Relu, Sigmoid and
 * Tanh read Y; the others X). Attributes as the forward op's: {@code alpha}, {@code beta}, {@code gamma}; Clip's
 * bounds come from inputs 3 and 4 (scalars) when present, else attributes {@code min} and {@code max}.
 * At kinks the gradient is PyTorch's: 0 at Relu's 0, 0 at Clip's bounds.
 */
public final class ActivationGrad implements Op {
    private static final int CHUNK = 1 << 14;

    @Override
    public String type() {
        return "ActivationGrad";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        String act = ctx.attrString("activation", "");
        boolean fromY = switch (act) {
            case "Relu", "Sigmoid", "Tanh" -> true;
            case "LeakyRelu", "HardSigmoid", "HardSwish", "Clip", "Elu", "Selu", "Softplus" -> false;
            default -> throw ctx.unsupported("no gradient for activation '" + act + "'");
        };
        int src = fromY ? 2 : 1;
        ctx.requireType(src, t);
        Shape shape = ctx.shape(0);
        if (!ctx.shape(src).equals(shape)) {
            throw ctx.fail("dY " + shape + " and " + (fromY ? "Y " : "X ") + ctx.shape(src) + " must have the same "
                    + "shape");
        }
        double alpha = ctx.attrFloat("alpha", act.equals("LeakyRelu") ? 0.01f : act.equals("HardSigmoid") ? 0.2f
                : act.equals("Selu") ? 1.67326319217681884765625f : 1f);
        double beta = ctx.attrFloat("beta", 0.5f);
        double gamma = ctx.attrFloat("gamma", 1.05070102214813232421875f);
        boolean loIn = ctx.hasInput(3), hiIn = ctx.hasInput(4);
        double loAttr = ctx.attrFloat("min", -Float.MAX_VALUE), hiAttr = ctx.attrFloat("max", Float.MAX_VALUE);
        long size = shape.size();
        int chunks = (int) ((size + CHUNK - 1) / CHUNK);
        var pool = ctx.pool();
        if (t == DType.FLOAT32 && act.equals("Relu")) {
            return Prepared.of(t, shape, (in, out) -> pool.parallelFor(chunks, ci -> reluGrad(in[0], in[2], out[0],
                    (long) ci * CHUNK, Math.min(size, (long) (ci + 1) * CHUNK))));
        }
        return Prepared.of(t, shape, (in, out) -> {
            double lo = loIn ? Doubles.read(in[3], 0, 1)[0] : loAttr;
            double hi = hiIn ? Doubles.read(in[4], 0, 1)[0] : hiAttr;
            pool.parallelFor(chunks, ci -> {
            long from = (long) ci * CHUNK;
            int n = (int) (Math.min(size, from + CHUNK) - from);
            double[] g = Doubles.read(in[0], from, n);
            double[] v = Doubles.read(in[src], from, n);
            for (int i = 0; i < n; i++) {
                g[i] *= derivative(act, v[i], alpha, beta, gamma, lo, hi);
            }
            Doubles.write(g, out[0], from);
            });
        });
    }

    /** The activation's derivative at input x (or, for Relu, Sigmoid and Tanh, given its output y = v). */
    static double derivative(String act, double v, double alpha, double beta, double gamma, double lo, double hi) {
        return switch (act) {
            case "Relu" -> v > 0 ? 1 : 0;
            case "Sigmoid" -> v * (1 - v);
            case "Tanh" -> 1 - v * v;
            case "LeakyRelu" -> v > 0 ? 1 : alpha;
            case "HardSigmoid" -> {
                double z = alpha * v + beta;
                yield z > 0 && z < 1 ? alpha : 0;
            }
            case "HardSwish" -> v < -3 ? 0 : v > 3 ? 1 : (2 * v + 3) / 6;
            case "Clip" -> v > lo && v < hi ? 1 : 0;
            case "Elu" -> v > 0 ? 1 : alpha * Math.exp(v);
            case "Selu" -> v > 0 ? gamma : gamma * alpha * Math.exp(v);
            case "Softplus" -> 1 / (1 + Math.exp(-v));
            default -> throw new IllegalArgumentException(act);
        };
    }

    private static void reluGrad(Tensor dy, Tensor y, Tensor dx, long from, long to) {
        TrainKernels.reluGrad(dy.segment(), dy.offset(), y.segment(), y.offset(), dx.segment(), dx.offset(), from, to);
    }
}
