package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses {@code Add(conv, other)} (either order), where {@code conv} is the output of a Conv or of a FusedConv with
 * neither activation nor residual, read only by that Add, into {@code FusedConv(X, W, B, Z=other)} writing the
 * Add's output. A following Relu (or other activation) is then fused by {@link ConvActivationFusion}. Whether
 * {@code other} has the conv output's shape is known only per plan: the FusedConv op falls back to a separate add
 * when it differs.
 */
public final class ConvAddFusion implements Pass {
    @Override
    public String name() {
        return "conv-add-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "FusedConv") == null) {
            return false;
        }
        boolean changed = false;
        for (Node add : new ArrayList<>(graph.nodes())) {
            if (PassSupport.is(add, "Add") && graph.nodes().contains(add) && fuse(graph, add)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node add) {
        if (add.inputs().size() != 2 || add.input(0) == null || add.input(1) == null
                || add.input(0) == add.input(1)) {
            return false;
        }
        Map<Value, List<Node>> consumers = graph.consumers();
        for (int side = 0; side < 2; side++) {
            Value c = add.input(side);
            Value other = add.input(1 - side);
            Node conv = c.producer();
            if (conv == null || !PassSupport.isPlainConv(conv, false)
                    || !PassSupport.soleReader(graph, consumers, c, add)) {
                continue;
            }
            List<Value> in = new ArrayList<>(conv.inputs());
            while (in.size() < 3) {
                in.add(null);
            }
            in = new ArrayList<>(in.subList(0, 3));
            in.add(other);
            Map<String, Attribute> attrs = new LinkedHashMap<>(conv.attributes());
            attrs.putIfAbsent("activation", Attribute.of("activation", ""));
            Node fused = new Node(conv.name(), "FusedConv", Node.TANDEM_DOMAIN, in, List.of(add.output(0)), attrs);
            graph.remove(add);
            PassSupport.replaceNode(graph, conv, fused);
            return true;
        }
        return false;
    }
}
