package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses a 1×1 convolution (stride 1, no padding, one group, constant weights; Conv or FusedConv with any
 * activation and no residual) whose only reader is a depthwise convolution of it (group = its channels, constant
 * weights, no residual) into one {@code dev.tandem.FusedExpandDepthwise} node, which computes both a block of
 * channels at a time without writing the widened tensor out (MobileNetV2's and EfficientNet's inverted residual
 * blocks; see that op for why). Runs after the activation fusion so both activations come along.
 *
 * <p>The fused node takes the depthwise node's attributes, and the expansion's activation attributes renamed
 * with the prefix {@code expand_}.
 */
public final class ExpandDepthwiseFusion implements Pass {
    @Override
    public String name() {
        return "expand-depthwise-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "FusedExpandDepthwise") == null) {
            return false;
        }
        boolean changed = false;
        for (Node a : new ArrayList<>(graph.nodes())) {
            if (graph.nodes().contains(a) && fuse(graph, a)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node a) {
        if (!isConv(a) || !unitPointwise(a)) {
            return false;
        }
        Tensor w1 = floatConstant(a.input(1));
        if (w1 == null || w1.shape().rank() != 4 || w1.shape().dim(2) != 1 || w1.shape().dim(3) != 1
                || !biasOk(a.input(2))) {
            return false;
        }
        int m = w1.shape().dim(0);
        Value mid = a.output(0);
        Map<Value, List<Node>> consumers = graph.consumers();
        List<Node> readers = PassSupport.readers(consumers, mid);
        if (readers.size() != 1 || PassSupport.isOutput(graph, mid)) {
            return false;
        }
        Node b = readers.get(0);
        if (!isConv(b) || b.input(0) != mid || PassSupport.attrInt(b, "group", 1) != m) {
            return false;
        }
        Tensor w2 = floatConstant(b.input(1));
        if (w2 == null || w2.shape().rank() != 4 || w2.shape().dim(0) != m || w2.shape().dim(1) != 1
                || !biasOk(b.input(2))) {
            return false;
        }
        Map<String, Attribute> attrs = new LinkedHashMap<>(b.attributes());
        for (String k : new String[] {"activation", "activation_min", "activation_max"}) {
            Attribute at = a.attribute(k);
            if (at != null) {
                attrs.put("expand_" + k, new Attribute("expand_" + k, at.kind(), at.value()));
            }
        }
        List<Value> inputs = new ArrayList<>();
        inputs.add(a.input(0));
        inputs.add(a.input(1));
        inputs.add(a.inputs().size() > 2 ? a.input(2) : null);
        inputs.add(b.input(1));
        inputs.add(b.inputs().size() > 2 ? b.input(2) : null);
        Node fused = new Node(a.name() + "+" + b.name(), "FusedExpandDepthwise", Node.TANDEM_DOMAIN,
                PassSupport.trim(inputs), b.outputs(), attrs);
        graph.remove(a);
        PassSupport.replaceNode(graph, b, fused);
        return true;
    }

    /** A Conv, or a FusedConv without a residual input. */
    private static boolean isConv(Node n) {
        if (PassSupport.is(n, "Conv")) {
            return n.inputs().size() >= 2;
        }
        return n.domain().equals(Node.TANDEM_DOMAIN) && n.opType().equals("FusedConv") && n.inputs().size() >= 2
                && (n.inputs().size() < 4 || n.input(3) == null);
    }

    /** Stride 1, no padding, dilation 1, one group, no auto padding that could pad. */
    private static boolean unitPointwise(Node n) {
        if (PassSupport.attrInt(n, "group", 1) != 1) {
            return false;
        }
        for (String k : new String[] {"strides", "dilations"}) {
            if (!allEqual(n.attribute(k), 1)) {
                return false;
            }
        }
        if (!allEqual(n.attribute("pads"), 0)) {
            return false;
        }
        Attribute ap = n.attribute("auto_pad");
        return ap == null || "NOTSET".equals(ap.value()) || "VALID".equals(ap.value());
    }

    private static boolean allEqual(Attribute at, long v) {
        if (at == null) {
            return true;
        }
        if (!(at.value() instanceof long[] a)) {
            return false;
        }
        for (long x : a) {
            if (x != v) {
                return false;
            }
        }
        return true;
    }

    private static Tensor floatConstant(Value v) {
        if (v == null) {
            return null;
        }
        return v.isConstant() && v.constant().dtype() == DType.FLOAT32 ? v.constant() : null;
    }

    private static boolean biasOk(Value v) {
        return v == null || floatConstant(v) != null;
    }
}
