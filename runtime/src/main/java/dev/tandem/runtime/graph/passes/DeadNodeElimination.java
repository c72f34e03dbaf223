package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Removes nodes none of whose outputs reaches a graph output, then frees constants no node reads any more (the
 * weights a fold replaced, say).
 */
public final class DeadNodeElimination implements Pass {
    @Override
    public String name() {
        return "dead-node-elimination";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        Set<Value> live = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Node> liveNodes = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Value> work = new ArrayDeque<>(graph.outputs());
        live.addAll(graph.outputs());
        while (!work.isEmpty()) {
            Value v = work.poll();
            Node p = v.producer();
            if (p != null && liveNodes.add(p)) {
                for (Value in : p.inputs()) {
                    if (in != null && live.add(in)) {
                        work.add(in);
                    }
                }
            }
        }
        boolean changed = false;
        for (Node n : new ArrayList<>(graph.nodes())) {
            if (!liveNodes.contains(n)) {
                graph.remove(n);
                changed = true;
            }
        }
        // Constants nobody reads: free their memory.
        List<Value> inputs = graph.inputs();
        for (Value v : graph.values().values()) {
            if (v.isConstant() && !live.contains(v) && !inputs.contains(v)) {
                v.constant().close();
                v.setConstant(null);
                changed = true;
            }
        }
        return changed;
    }
}
