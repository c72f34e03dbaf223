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

    /** The passes Tandem runs on every model it loads, in order. */
    public static Optimizer standard() {
        List<Pass> p = new ArrayList<>();
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
