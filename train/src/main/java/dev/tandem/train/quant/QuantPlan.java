package dev.tandem.train.quant;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which nodes of a float graph the quantizer turns into int8 and which activations it needs a calibrated range for.
 *
 * <p>A quantized unit is a Conv, Gemm or MatMul with float32 constant weights, together with the Relu or Clip
 * (constant bounds, min ≥ 0: ReLU6) that alone reads its output, when one does: no QuantizeLinear/DequantizeLinear
 * goes between the two, and the unit's output is quantized after the activation, with the activation's range (as
 * ONNX Runtime's quantizer does; its runtime and Tandem's both fuse such a unit into one integer op). The unit's
 * input and output are the activations to calibrate; graph outputs stay float.
 *
 * <p>An element-wise function of a quantized value (Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, SiLU as
 * {@code x · Sigmoid(x)}) stays float but gets its result quantized too, as ONNX Runtime's quantizer does: the
 * function then sits between a DequantizeLinear and a QuantizeLinear, which Tandem's runtime turns into one table
 * lookup, and every value it feeds (EfficientNet's squeeze-excite pooling and gate) starts from 8-bit data.
 *
 * @param quantized   the quantized layers, as {@code Op 'name'}
 * @param activated   the Relu and Clip nodes quantized with the layer before them, as {@code Op 'name'}
 * @param leftFloat   node ({@code Op 'name'}) → why it stays float (Constant nodes are not listed)
 * @param nodes       indices (in the graph's node order) of the quantized linear nodes
 * @param activations names of the values that get a QuantizeLinear → DequantizeLinear pair
 */
record QuantPlan(List<String> quantized, List<String> activated, Map<String, String> leftFloat,
                 List<Integer> nodes, Set<String> activations) {

    static QuantPlan of(Graph g) {
        List<String> quantized = new ArrayList<>();
        List<String> activated = new ArrayList<>();
        List<Integer> indices = new ArrayList<>();
        Map<String, String> left = new LinkedHashMap<>();
        Set<String> acts = new LinkedHashSet<>();
        Set<Node> fused = new HashSet<>();
        Map<Value, List<Node>> consumers = g.consumers();
        Set<Value> outs = new HashSet<>(g.outputs());
        for (int index = 0; index < g.nodes().size(); index++) {
            Node n = g.nodes().get(index);
            String id = id(n);
            if (fused.contains(n) || n.opType().equals("Constant") && n.domain().isEmpty()) {
                continue;
            }
            Node fn = function(consumers, n);
            if (fn != null && acts.contains(n.input(0).name())) {
                // an element-wise function of a quantized value: its result is quantized too
                Value out = fn.output(0);
                if (!outs.contains(out)) {
                    acts.add(out.name());
                }
                left.put(id, FUNCTION);
                if (fn != n) {
                    left.put(id(fn), FUNCTION);
                    fused.add(fn);
                }
                continue;
            }
            String why = unsupported(n);
            if (why != null) {
                left.put(id, why);
                continue;
            }
            if (outs.contains(n.input(0))) {
                left.put(id, "its input is also a graph output");
                continue;
            }
            quantized.add(id);
            indices.add(index);
            acts.add(n.input(0).name());
            Value t = n.output(0);
            List<Node> readers = consumers.getOrDefault(t, List.of());
            if (readers.size() == 1 && !outs.contains(t) && fusable(g, readers.get(0), t)) {
                Node act = readers.get(0);
                fused.add(act);
                activated.add(id(act));
                t = act.output(0);
            }
            if (!outs.contains(t)) {
                acts.add(t.name());
            }
        }
        return new QuantPlan(quantized, activated, left, indices, acts);
    }

    static final String FUNCTION = "float between a quantized input and a quantized output (Tandem's runtime runs it "
            + "as a table of 256 values)";

    private static final java.util.Set<String> FUNCTIONS = java.util.Set.of("Sigmoid", "Tanh", "HardSigmoid",
            "HardSwish", "LeakyRelu");

    /**
     * When {@code n} starts an element-wise function of one value: Sigmoid, Tanh, HardSigmoid, HardSwish or LeakyRelu,
     * or SiLU ({@code Mul(x, Sigmoid(x))}, starting at the Sigmoid), the node whose output is the function's result
     * (n itself, or the SiLU's Mul); else null.
     */
    private static Node function(Map<Value, List<Node>> consumers, Node n) {
        if (!n.domain().isEmpty() || !FUNCTIONS.contains(n.opType()) || n.outputs().size() != 1
                || n.inputs().isEmpty() || n.input(0) == null) {
            return null;
        }
        if (n.opType().equals("Sigmoid")) {
            List<Node> readers = consumers.getOrDefault(n.output(0), List.of());
            if (readers.size() == 1) {
                Node m = readers.get(0);
                Value x = n.input(0), s = n.output(0);
                if (m.opType().equals("Mul") && m.domain().isEmpty() && m.inputs().size() == 2
                        && (m.input(0) == x && m.input(1) == s || m.input(0) == s && m.input(1) == x)) {
                    return m;
                }
            }
        }
        return n;
    }

    private static String id(Node n) {
        return n.opType() + " '" + n.name() + "'";
    }

    /**
     * True when {@code a} is an activation that joins the layer before it: Relu, or Clip whose bounds are constants
     * (inputs from opset 11, attributes before) with min ≥ 0 and max ≥ min (ReLU6: min 0, max 6), reading {@code t}.
     */
    static boolean fusable(Graph g, Node a, Value t) {
        if (!a.domain().isEmpty() || a.outputs().size() != 1 || a.inputs().isEmpty() || a.input(0) != t) {
            return false;
        }
        if (a.opType().equals("Relu")) {
            return true;
        }
        if (!a.opType().equals("Clip")) {
            return false;
        }
        float min;
        float max = Float.POSITIVE_INFINITY;
        if (g.opset("") < 11) {
            Attribute lo = a.attribute("min"), hi = a.attribute("max");
            if (lo == null || !(lo.value() instanceof Float f)) {
                return false;
            }
            min = f;
            if (hi != null && hi.value() instanceof Float h) {
                max = h;
            }
        } else {
            Float lo = scalar(a.inputs().size() > 1 ? a.input(1) : null);
            if (lo == null) {
                return false;
            }
            min = lo;
            if (a.inputs().size() > 2 && a.input(2) != null) {
                Float hi = scalar(a.input(2));
                if (hi == null) {
                    return false;
                }
                max = hi;
            }
        }
        return min >= 0 && max >= min;
    }

    /** The float value of a one-element constant (an initializer or a Constant node's value), or null. */
    private static Float scalar(Value v) {
        if (v == null) {
            return null;
        }
        Tensor t = v.isConstant() ? v.constant() : null;
        Node p = v.producer();
        if (t == null && p != null && p.opType().equals("Constant") && p.domain().isEmpty()
                && p.attribute("value") != null && p.attribute("value").value() instanceof Tensor c) {
            t = c;
        }
        if (t == null || t.size() != 1 || !t.dtype().isFloatingPoint()) {
            return null;
        }
        return Elements.toFloats(t)[0];
    }

    /** Why {@code n} stays float, or null when it is quantized. */
    private static String unsupported(Node n) {
        if (!n.domain().isEmpty()) {
            return "domain '" + n.domain() + "' ops are not quantized";
        }
        String op = n.opType();
        if (!op.equals("Conv") && !op.equals("Gemm") && !op.equals("MatMul")) {
            return "no int8 form (only Conv, Gemm and MatMul are quantized, with a Relu or ReLU6 after them)";
        }
        Value w = n.inputs().size() > 1 ? n.input(1) : null;
        if (w == null || !w.isConstant() || w.constant().dtype() != DType.FLOAT32) {
            return "weights are not a float32 constant";
        }
        int rank = w.constant().rank();
        if (op.equals("Conv") ? rank < 3 : rank != 2) {
            return "weights of rank " + rank;
        }
        if (op.equals("Gemm") && (attrInt(n, "transA", 0) != 0 || attrFloat(n, "alpha") != 1f
                || attrFloat(n, "beta") != 1f)) {
            return "Gemm with transA, alpha or beta";
        }
        if (!op.equals("MatMul") && n.inputs().size() > 2 && n.input(2) != null) {
            Value b = n.input(2);
            if (!b.isConstant() || b.constant().dtype() != DType.FLOAT32) {
                return "bias is not a float32 constant";
            }
        }
        return null;
    }

    static long attrInt(Node n, String name, long def) {
        Attribute a = n.attribute(name);
        return a != null && a.value() instanceof Long l ? l : def;
    }

    private static float attrFloat(Node n, String name) {
        Attribute a = n.attribute(name);
        return a != null && a.value() instanceof Float f ? f : 1f;
    }
}
