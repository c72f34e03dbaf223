package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses the float islands a QDQ model keeps between quantized layers into 8-bit ops, so that their data stays 8-bit:
 * <ul>
 *   <li>{@code DequantizeLinear(a), DequantizeLinear(b) → Add | Mul [→ Relu | Clip] → QuantizeLinear} into
 *       {@code dev.tandem.QAdd} / {@code dev.tandem.QMul} (residual connections, squeeze-excite gates);</li>
 *   <li>{@code DequantizeLinear → GlobalAveragePool → QuantizeLinear} into {@code dev.tandem.QGlobalAveragePool}.</li>
 * </ul>
 * Every DequantizeLinear and the QuantizeLinear are per tensor, scales and zero points known at load; the float
 * values in between have no other reader and are no graph output (a DequantizeLinear's output may have others: it
 * stays for them). Runs before {@link ConstantFolding}.
 */
public final class QdqElementwiseFusion implements Pass {
    @Override
    public String name() {
        return "qdq-elementwise-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "QAdd") == null) {
            return false;
        }
        boolean changed = false;
        for (Node q : new ArrayList<>(graph.nodes())) {
            if (PassSupport.is(q, "QuantizeLinear") && graph.nodes().contains(q) && perTensor(q)
                    && fuse(graph, q)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node q) {
        Map<Value, List<Node>> consumers = graph.consumers();
        Value t = q.input(0);
        Node op = t.producer();
        if (op == null || !PassSupport.soleReader(graph, consumers, t, q) || op.outputs().size() != 1) {
            return false;
        }
        if (PassSupport.is(op, "GlobalAveragePool")) {
            Node dq = op.input(0) == null ? null : op.input(0).producer();
            if (!dequantize(dq)) {
                return false;
            }
            List<Value> in = new ArrayList<>(List.of(dq.input(0), PassSupport.constValue(graph, dq.input(1))));
            in.add(dq.inputs().size() > 2 && dq.input(2) != null ? PassSupport.constValue(graph, dq.input(2)) : null);
            in.add(PassSupport.constValue(graph, q.input(1)));
            in.add(PassSupport.constValue(graph, q.input(2)));
            replace(graph, q, List.of(op), new Node(op.name(), "QGlobalAveragePool", Node.TANDEM_DOMAIN, in,
                    List.of(q.output(0)), Map.of()));
            return true;
        }
        Node act = null;
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        if (PassSupport.is(op, "Relu") || PassSupport.is(op, "Clip")) {
            act = op;
            if (!activation(graph, act, attrs) || act.input(0) == null) {
                return false;
            }
            Value u = act.input(0);
            op = u.producer();
            if (op == null || !PassSupport.soleReader(graph, consumers, u, act) || op.outputs().size() != 1) {
                return false;
            }
        }
        boolean add = PassSupport.is(op, "Add"), mul = PassSupport.is(op, "Mul");
        if (!add && !mul || op.inputs().size() != 2 || op.input(0) == null || op.input(1) == null) {
            return false;
        }
        Node da = op.input(0).producer(), db = op.input(1).producer();
        if (!dequantize(da) || !dequantize(db)) {
            return false;
        }
        List<Value> in = new ArrayList<>();
        for (Node d : new Node[] {da, db}) {
            in.add(d.input(0));
            in.add(PassSupport.constValue(graph, d.input(1)));
            in.add(d.inputs().size() > 2 && d.input(2) != null ? PassSupport.constValue(graph, d.input(2)) : null);
        }
        in.add(PassSupport.constValue(graph, q.input(1)));
        in.add(PassSupport.constValue(graph, q.input(2)));
        List<Node> gone = act == null ? List.of(op) : List.of(op, act);
        replace(graph, q, gone, new Node(op.name(), add ? "QAdd" : "QMul", Node.TANDEM_DOMAIN, in,
                List.of(q.output(0)), attrs));
        return true;
    }

    private static void replace(Graph graph, Node q, List<Node> gone, Node fused) {
        for (Node n : gone) {
            graph.remove(n);
        }
        PassSupport.replaceNode(graph, q, fused);
    }

    /** A QuantizeLinear with a float32 scalar scale and an 8-bit scalar zero point known at load. */
    private static boolean perTensor(Node q) {
        Tensor s = PassSupport.known(q.input(1)), z = q.inputs().size() > 2 ? PassSupport.known(q.input(2)) : null;
        return scalarFloat(s) && z != null && z.size() == 1 && (z.dtype() == DType.UINT8 || z.dtype() == DType.INT8);
    }

    /** A per-tensor DequantizeLinear of 8-bit data, scale and zero point known at load. */
    private static boolean dequantize(Node d) {
        if (!PassSupport.is(d, "DequantizeLinear") || d.inputs().size() < 2) {
            return false;
        }
        Tensor s = PassSupport.known(d.input(1));
        Tensor z = d.inputs().size() > 2 && d.input(2) != null ? PassSupport.known(d.input(2)) : null;
        boolean hasZero = d.inputs().size() > 2 && d.input(2) != null;
        return scalarFloat(s) && (!hasZero || z != null && z.size() == 1 && (z.dtype() == DType.UINT8
                || z.dtype() == DType.INT8));
    }

    /** The fused activation's attributes (QConv's convention) for a Relu or a Clip with bounds known at load. */
    private static boolean activation(Graph graph, Node a, Map<String, Attribute> attrs) {
        attrs.put("activation", Attribute.of("activation", a.opType()));
        if (a.opType().equals("Relu")) {
            return true;
        }
        float lo = Float.NEGATIVE_INFINITY, hi = Float.POSITIVE_INFINITY;
        if (graph.opset("") < 11) {
            lo = PassSupport.attrFloat(a, "min", lo);
            hi = PassSupport.attrFloat(a, "max", hi);
        } else {
            for (int i = 1; i <= 2 && i < a.inputs().size(); i++) {
                if (a.input(i) == null) {
                    continue;
                }
                Tensor c = PassSupport.known(a.input(i));
                if (!scalarFloat(c)) {
                    return false;
                }
                if (i == 1) {
                    lo = Elements.toFloats(c)[0];
                } else {
                    hi = Elements.toFloats(c)[0];
                }
            }
        }
        attrs.put("activation_min", Attribute.of("activation_min", lo));
        attrs.put("activation_max", Attribute.of("activation_max", hi));
        return lo <= hi;
    }

    private static boolean scalarFloat(Tensor t) {
        return t != null && t.dtype() == DType.FLOAT32 && t.size() == 1;
    }
}
