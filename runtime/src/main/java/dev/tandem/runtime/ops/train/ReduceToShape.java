package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;

/**
 * {@code dev.tandem.ReduceToShape(dY, shape) → dX}: the gradient of a broadcast. Sums dY over the axes along which
 * an operand of {@code shape} (int64, known at plan time) was broadcast to dY's shape (numpy rules, aligned on the
 * right). When the shapes are equal the output is dY itself (no copy). Float32 and float64.
 */
public final class ReduceToShape implements Op {
    @Override
    public String type() {
        return "ReduceToShape";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape from = ctx.shape(0);
        long[] target = ctx.constantLongs(1, "shape");
        int[] dims = new int[target.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = Math.toIntExact(target[i]);
        }
        Shape to = Shape.of(dims);
        if (to.equals(from)) {
            return Prepared.alias(0, t, to);
        }
        int r = from.rank(), lead = r - to.rank();
        if (lead < 0) {
            throw ctx.fail("cannot reduce " + from + " to the larger rank of " + to);
        }
        long[] outStride = new long[r];
        long s = 1;
        for (int a = r - 1; a >= 0; a--) {
            int ta = a - lead;
            if (ta >= 0 && to.dim(ta) == from.dim(a)) {
                outStride[a] = s;
                s *= to.dim(ta);
            } else if (ta < 0 || to.dim(ta) == 1) {
                outStride[a] = 0;
            } else {
                throw ctx.fail(to + " does not broadcast to " + from);
            }
        }
        int[] fd = from.dims();
        return Prepared.of(t, to, (in, out) -> {
            double[] g = Doubles.read(in[0]);
            double[] acc = new double[Math.toIntExact(to.size())];
            int[] idx = new int[r];
            long o = 0;
            for (int i = 0; i < g.length; i++) {
                acc[(int) o] += g[i];
                for (int a = r - 1; a >= 0; a--) {
                    idx[a]++;
                    o += outStride[a];
                    if (idx[a] < fd[a]) {
                        break;
                    }
                    o -= outStride[a] * fd[a];
                    idx[a] = 0;
                }
            }
            Doubles.write(acc, out[0]);
        });
    }
}
