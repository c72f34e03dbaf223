package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Graph-surgery helpers shared by the passes. */
final class PassSupport {
    private PassSupport() {
    }

    static boolean isOutput(Graph g, Value v) {
        for (Value o : g.outputs()) {
            if (o == v) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code n} is the default-domain op {@code type}. */
    static boolean is(Node n, String type) {
        return n != null && n.domain().isEmpty() && n.opType().equals(type);
    }

    /** True when {@code n} is a Conv, or a FusedConv with no activation yet. */
    static boolean isPlainConv(Node n, boolean allowResidual) {
        if (is(n, "Conv")) {
            return true;
        }
        if (n != null && n.domain().equals(Node.TANDEM_DOMAIN) && n.opType().equals("FusedConv")) {
            Attribute a = n.attribute("activation");
            boolean noAct = a == null || "".equals(a.value());
            return noAct && (allowResidual || n.input(3) == null);
        }
        return false;
    }

    /** Readers of {@code v} (a node reading it twice appears twice). */
    static List<Node> readers(Map<Value, List<Node>> consumers, Value v) {
        return consumers.getOrDefault(v, List.of());
    }

    /** True when {@code v} is read only by {@code n} (once) and is no graph output. */
    static boolean soleReader(Graph g, Map<Value, List<Node>> consumers, Value v, Node n) {
        List<Node> r = readers(consumers, v);
        return r.size() == 1 && r.get(0) == n && !isOutput(g, v);
    }

    /** True when no node reads {@code v} and it is no graph output. */
    static boolean unused(Graph g, Map<Value, List<Node>> consumers, Value v) {
        return readers(consumers, v).isEmpty() && !isOutput(g, v);
    }

    /** The value of {@code v} known at load: a constant, or the {@code value} of the Constant node producing it. */
    static Tensor known(Value v) {
        if (v == null) {
            return null;
        }
        if (v.isConstant()) {
            return v.constant();
        }
        Node p = v.producer();
        if (PassSupport.is(p, "Constant") && p.attribute("value") != null
                && p.attribute("value").value() instanceof Tensor t) {
            return t;
        }
        return null;
    }

    /** {@code v} itself when it is a graph constant, else a new constant holding a copy of its Constant value. */
    static Value constValue(Graph graph, Value v) {
        if (v.isConstant()) {
            return v;
        }
        Tensor t = known(v);
        Tensor copy = Tensor.allocate(t.dtype(), t.shape());
        copy.copyFrom(t);
        Value c = graph.newValue(v.name());
        c.setConstant(copy);
        return c;
    }

    /** Puts {@code replacement} where {@code old} was in the node list (old's outputs lose their producer). */
    static void replaceNode(Graph g, Node old, Node replacement) {
        int i = g.nodes().indexOf(old);
        g.remove(old);
        g.insertAfter(i <= 0 ? null : g.nodes().get(i - 1), replacement);
    }

    /** A copy of {@code n} with other inputs and outputs, same name, type, domain and attributes. */
    static Node copy(Node n, List<Value> inputs, List<Value> outputs) {
        return new Node(n.name(), n.opType(), n.domain(), inputs, outputs, n.attributes());
    }

    /** {@code n}'s outputs with {@code from} replaced by {@code to}. */
    static List<Value> outputsReplacing(Node n, Value from, Value to) {
        List<Value> outs = new ArrayList<>(n.outputs());
        outs.replaceAll(v -> v == from ? to : v);
        return outs;
    }

    /** The inputs without trailing absent ones. */
    static List<Value> trim(List<Value> in) {
        List<Value> out = new ArrayList<>(in);
        while (!out.isEmpty() && out.getLast() == null) {
            out.removeLast();
        }
        return out;
    }

    static long attrInt(Node n, String name, long def) {
        Attribute a = n.attribute(name);
        return a != null && a.value() instanceof Long l ? l : def;
    }

    static float attrFloat(Node n, String name, float def) {
        Attribute a = n.attribute(name);
        if (a == null) {
            return def;
        }
        return a.value() instanceof Float f ? f : a.value() instanceof Long l ? l : def;
    }
}
