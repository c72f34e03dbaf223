package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Computes at load every node whose inputs are all constants (initializers or earlier folds), with the real op
 * from the registry, and turns its outputs into graph constants. Skipped: random ops, nodes the registry lacks or
 * cannot prepare (the planner reports those later), and nodes whose outputs would be more than
 * {@link #MAX_GROWTH_BYTES} larger than their inputs (ConstantOfShape, Expand, Tile...: computing those per plan
 * keeps the loaded model small).
 */
public final class ConstantFolding implements Pass {
    /** Largest growth in bytes (outputs minus inputs) a fold may cause. */
    public static final long MAX_GROWTH_BYTES = 1 << 20;

    private static final Set<String> NONDETERMINISTIC = Set.of("RandomNormal", "RandomUniform",
            "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli");

    @Override
    public String name() {
        return "constant-folding";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        boolean changed = false;
        for (Node n : new ArrayList<>(graph.nodes())) {
            if (fold(graph, ctx, n)) {
                changed = true;
            }
        }
        return changed;
    }

    private static boolean fold(Graph graph, PassContext ctx, Node n) {
        if (n.domain().isEmpty() && NONDETERMINISTIC.contains(n.opType())) {
            return false;
        }
        int k = n.inputs().size();
        DType[] dt = new DType[k];
        Shape[] sh = new Shape[k];
        Tensor[] cs = new Tensor[k];
        long inBytes = 0;
        for (int i = 0; i < k; i++) {
            Value v = n.input(i);
            if (v == null) {
                continue;
            }
            if (!v.isConstant() || !v.constant().isContiguous()) {
                return false;
            }
            cs[i] = v.constant();
            dt[i] = cs[i].dtype();
            sh[i] = cs[i].shape();
            inBytes += cs[i].size() * dt[i].byteSize();
        }
        Op op = ctx.registry().find(n.domain(), n.opType());
        if (op == null) {
            return false;
        }
        Prepared p;
        try {
            p = op.prepare(new OpContext(n, graph.opset(n.domain()), dt, sh, cs, ctx.gemm()));
        } catch (RuntimeException e) {
            return false; // invalid or unsupported here: the planner reports it with full context
        }
        int outs = n.outputs().size();
        if (p.outputs().size() < outs || p.isAlias() && outs > 1) {
            return false;
        }
        long outBytes = 0;
        for (int o = 0; o < outs; o++) {
            Prepared.Output po = p.outputs().get(o);
            outBytes += po.shape().size() * po.dtype().byteSize();
        }
        if (outBytes - inBytes > MAX_GROWTH_BYTES) {
            return false;
        }
        List<Tensor> results = new ArrayList<>();
        try {
            if (p.isAlias()) {
                Prepared.Output po = p.outputs().get(0);
                Tensor t = Tensor.allocate(po.dtype(), po.shape());
                results.add(t);
                Elements.copy(cs[p.aliasOf()], 0, t, 0, t.size());
            } else {
                Tensor[] out = new Tensor[p.outputs().size()];
                for (int o = 0; o < out.length; o++) {
                    Prepared.Output po = p.outputs().get(o);
                    out[o] = Tensor.allocate(po.dtype(), po.shape());
                    results.add(out[o]);
                }
                p.kernel().run(cs.clone(), out);
            }
        } catch (RuntimeException e) {
            results.forEach(Tensor::close);
            return false;
        }
        graph.remove(n);
        for (int o = 0; o < results.size(); o++) {
            if (o < outs) {
                n.output(o).setConstant(results.get(o));
            } else {
                results.get(o).close();
            }
        }
        return true;
    }
}
