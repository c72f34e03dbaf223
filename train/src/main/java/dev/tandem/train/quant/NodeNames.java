package dev.tandem.train.quant;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import java.util.HashSet;
import java.util.Set;

/**
 * Node names not yet used in a graph. ONNX requires a model's node names to be unique (ONNX Runtime refuses a
 * model with two nodes of one name), and names the quantizer derives from a tensor are not: a weight or bias
 * shared by two layers would give two {@code <name>_DequantizeLinear} nodes.
 */
final class NodeNames {
    private final Set<String> used = new HashSet<>();

    NodeNames(Graph g) {
        for (Node n : g.nodes()) {
            used.add(n.name());
        }
    }

    /** {@code hint} itself when unused, else {@code hint_2}, {@code hint_3}...; the name returned is then used. */
    String unique(String hint) {
        String name = hint;
        for (int i = 2; !used.add(name); i++) {
            name = hint + "_" + i;
        }
        return name;
    }
}
