package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs passes in order until none changes the graph (at most a few rounds). */
public final class Optimizer {
    private final List<Pass> passes;

    public Optimizer(List<Pass> passes) {
        this.passes = List.copyOf(passes);
    }

    /**
     * The passes Tandem runs on every model it loads, in order: identities out, QDQ patterns fused into integer ops
     * (layers, element-wise functions as tables, additions, products and pooling; before folding turns their
     * weights' DequantizeLinear into float constants), constants folded, dead nodes dropped (so that a BatchNorm's
     * input has only its real readers), BatchNorm folded into the linear op before it, then the conv fusions (residual add first, so that the activation after it joins the same node; then a 1×1
     * expansion with the depthwise convolution reading it).
     * Layout choices (NCHWc blocking and the like) are not made here.
     */
    public static Optimizer standard() {
        List<Pass> p = new ArrayList<>();
        p.add(new IdentityElimination());
        p.add(new QdqFusion());
        p.add(new QdqLookupFusion());
        p.add(new QdqElementwiseFusion());
        p.add(new ConstantFolding());
        p.add(new DeadNodeElimination());
        p.add(new BatchNormFolding());
        p.add(new ConvAddFusion());
        p.add(new ConvActivationFusion());
        p.add(new ExpandDepthwiseFusion());
        p.add(new DeadNodeElimination());
        return new Optimizer(p);
    }

    public List<Pass> passes() {
        return passes;
    }

    /** Applies the passes; returns how many times each changed the graph. */
    public Map<String, Integer> run(Graph graph, PassContext ctx) {
        Map<String, Integer> changes = new LinkedHashMap<>();
        for (int round = 0; round < 4; round++) {
            boolean any = false;
            for (Pass pass : passes) {
                if (pass.apply(graph, ctx)) {
                    changes.merge(pass.name(), 1, Integer::sum);
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        graph.sort();
        return changes;
    }
}
