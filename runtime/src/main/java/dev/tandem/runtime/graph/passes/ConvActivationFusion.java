package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses a Conv (or a FusedConv without activation) with the activation reading its output into one
 * {@code dev.tandem.FusedConv} node: Relu, Clip (constant bounds; attributes before opset 11), Sigmoid,
 * HardSwish, and SiLU written as {@code Mul(x, Sigmoid(x))}. Only when the conv output has no other reader (for
 * SiLU: exactly that Sigmoid and that Mul) and is no graph output, and when the registry has FusedConv.
 *
 * <p>FusedConv contract: inputs X, W, B (optional), Z (optional residual added after the bias, before the
 * activation); Conv's attributes; string {@code activation} in {"", "Relu", "Clip", "Sigmoid", "HardSwish",
 * "SiLU"}; floats {@code activation_min}/{@code activation_max} for Clip (±infinity when unbounded).
 */
public final class ConvActivationFusion implements Pass {
    @Override
    public String name() {
        return "conv-activation-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "FusedConv") == null) {
            return false;
        }
        boolean changed = false;
        for (Node conv : new ArrayList<>(graph.nodes())) {
            if (graph.nodes().contains(conv) && PassSupport.isPlainConv(conv, true) && fuse(graph, conv)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node conv) {
        Value c = conv.output(0);
        if (PassSupport.isOutput(graph, c)) {
            return false;
        }
        Map<Value, List<Node>> consumers = graph.consumers();
        List<Node> readers = PassSupport.readers(consumers, c);
        Map<String, Attribute> extra = new LinkedHashMap<>();
        List<Node> removed = new ArrayList<>();
        Value out;
        if (readers.size() == 1) {
            Node a = readers.get(0);
            if (a.input(0) != c) {
                return false;
            }
            String act = activation(graph, a, extra);
            if (act == null) {
                return false;
            }
            extra.put("activation", Attribute.of("activation", act));
            removed.add(a);
            out = a.output(0);
        } else if (readers.size() == 2) {
            Node sig = null;
            Node mul = null;
            for (Node r : readers) {
                if (PassSupport.is(r, "Sigmoid")) {
                    sig = r;
                } else if (PassSupport.is(r, "Mul")) {
                    mul = r;
                }
            }
            if (sig == null || mul == null || sig.input(0) != c) {
                return false;
            }
            Value s = sig.output(0);
            boolean pattern = mul.inputs().size() == 2 && (mul.input(0) == c && mul.input(1) == s
                    || mul.input(0) == s && mul.input(1) == c);
            if (!pattern || !PassSupport.soleReader(graph, consumers, s, mul)) {
                return false;
            }
            extra.put("activation", Attribute.of("activation", "SiLU"));
            removed.add(sig);
            removed.add(mul);
            out = mul.output(0);
        } else {
            return false;
        }
        Map<String, Attribute> attrs = new LinkedHashMap<>(conv.attributes());
        attrs.putAll(extra);
        Node fused = new Node(conv.name(), "FusedConv", Node.TANDEM_DOMAIN, PassSupport.trim(conv.inputs()),
                List.of(out), attrs);
        for (Node r : removed) {
            graph.remove(r);
        }
        PassSupport.replaceNode(graph, conv, fused);
        return true;
    }

    /** The activation name for node {@code a} (filling Clip bounds into {@code extra}), or null. */
    private static String activation(Graph graph, Node a, Map<String, Attribute> extra) {
        if (!a.domain().isEmpty() || a.outputs().size() != 1) {
            return null;
        }
        switch (a.opType()) {
            case "Relu":
                return "Relu";
            case "Sigmoid":
                return "Sigmoid";
            case "HardSwish":
                return "HardSwish";
            case "Clip": {
                float min = Float.NEGATIVE_INFINITY;
                float max = Float.POSITIVE_INFINITY;
                if (graph.opset("") < 11) {
                    min = PassSupport.attrFloat(a, "min", min);
                    max = PassSupport.attrFloat(a, "max", max);
                } else {
                    for (int i = 1; i <= 2; i++) {
                        Value v = a.input(i);
                        if (v == null) {
                            continue;
                        }
                        if (!v.isConstant() || v.constant().size() != 1 || !v.constant().dtype().isFloatingPoint()) {
                            return null;
                        }
                        float f = Elements.toFloats(v.constant())[0];
                        if (f != Elements.getDouble(v.constant().contiguous(), 0)) {
                            return null;   // a float64 bound float cannot hold: FusedConv's float bound would move it
                        }
                        if (i == 1) {
                            min = f;
                        } else {
                            max = f;
                        }
                    }
                }
                if (!(min <= max)) {
                    return null;   // min > max (every value becomes max) or NaN: leave it to the Clip op
                }
                extra.put("activation_min", Attribute.of("activation_min", min));
                extra.put("activation_max", Attribute.of("activation_max", max));
                return "Clip";
            }
            default:
                return null;
        }
    }
}
