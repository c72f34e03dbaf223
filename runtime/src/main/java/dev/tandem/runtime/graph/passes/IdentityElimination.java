package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Removes Identity nodes and inference-mode Dropout (whose mask output nobody reads): readers of the output read
 * the input instead. When the output is a graph output its name must survive, so the input's producer is rewired
 * to write the output directly; when that is impossible (the input is a graph input, a constant, or itself a
 * graph output) the node stays.
 */
public final class IdentityElimination implements Pass {
    @Override
    public String name() {
        return "identity-elimination";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        boolean changed = false;
        for (Node n : new ArrayList<>(graph.nodes())) {
            if (!removable(graph, n)) {
                continue;
            }
            Map<Value, List<Node>> consumers = graph.consumers();
            if (n.outputs().size() > 1 && !PassSupport.unused(graph, consumers, n.output(1))) {
                continue;
            }
            Value x = n.input(0);
            Value y = n.output(0);
            if (x == null) {
                continue;
            }
            if (!PassSupport.isOutput(graph, y)) {
                graph.remove(n);
                graph.replaceUses(y, x);
                changed = true;
                continue;
            }
            Node p = x.producer();
            if (p == null || PassSupport.isOutput(graph, x) || !graph.nodes().contains(p)) {
                continue;
            }
            graph.remove(n);
            PassSupport.replaceNode(graph, p, PassSupport.copy(p, p.inputs(), PassSupport.outputsReplacing(p, x, y)));
            graph.replaceUses(x, y);
            changed = true;
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean removable(Graph g, Node n) {
        if (PassSupport.is(n, "Identity")) {
            return true;
        }
        if (!PassSupport.is(n, "Dropout")) {
            return false;
        }
        int opset = g.opset("");
        if (opset < 7) {
            return PassSupport.attrInt(n, "is_test", 0) != 0;
        }
        if (opset >= 12 && n.input(2) != null) {
            Value t = n.input(2);
            return t.isConstant() && t.constant().size() == 1 && Elements.toLongs(t.constant())[0] == 0;
        }
        return true;
    }
}
