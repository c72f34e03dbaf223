package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuses {@code DequantizeLinear → element-wise function → QuantizeLinear} into {@code dev.tandem.QLookup}: with an
 * 8-bit input there are 256 possible inputs, so the whole function, quantization included, is a 256-entry table
 * computed here (one pass over bytes at run time instead of a pass per op over floats). This is how a quantized
 * model's SiLU ({@code x · Sigmoid(x)}), Sigmoid, HardSwish or Tanh between two quantized layers runs.
 *
 * <p>The function is the subgraph between one DequantizeLinear's output and the QuantizeLinear's input: at most
 * {@link #MAX_NODES} default-domain nodes among Sigmoid, Tanh, Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Mul,
 * Add, Sub and Div, whose inputs are that DequantizeLinear's output, each other's outputs or one-element float
 * constants, and whose outputs nothing else reads (nor the graph's outputs). Both ends per tensor, with scales and
 * zero points known at load. The table is computed in float32 with each op's scalar definition (exp in double, as
 * {@link dev.tandem.runtime.kernels.Activation#apply}), so an entry can differ from the unfused graph by one step
 * where the vector kernels round a transcendental function differently. Runs before {@link ConstantFolding}.
 */
public final class QdqLookupFusion implements Pass {
    /** Largest subgraph fused (SiLU is two nodes). */
    static final int MAX_NODES = 8;

    private static final Set<String> OPS = Set.of("Sigmoid", "Tanh", "Relu", "LeakyRelu", "Clip", "HardSigmoid",
            "HardSwish", "Mul", "Add", "Sub", "Div");
    private static final Set<String> BINARY = Set.of("Mul", "Add", "Sub", "Div");

    @Override
    public String name() {
        return "qdq-lookup-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "QLookup") == null) {
            return false;
        }
        boolean changed = false;
        for (Node q : new ArrayList<>(graph.nodes())) {
            if (PassSupport.is(q, "QuantizeLinear") && graph.nodes().contains(q) && fuse(graph, q)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node q) {
        Tensor ys = PassSupport.known(q.input(1)), yz = q.inputs().size() > 2 ? PassSupport.known(q.input(2)) : null;
        if (!scalarFloat(ys) || yz == null || yz.size() != 1 || !eightBit(yz.dtype())) {
            return false;
        }
        Value t = q.input(0);
        Node last = t.producer();
        if (last == null || !fusable(last)) {
            return false;
        }
        // gather the subgraph back from t until one DequantizeLinear's output
        Map<Value, List<Node>> consumers = graph.consumers();
        Set<Node> region = new HashSet<>();
        List<Node> stack = new ArrayList<>(List.of(last));
        Value source = null;
        while (!stack.isEmpty()) {
            Node n = stack.removeLast();
            if (!region.add(n)) {
                continue;
            }
            if (region.size() > MAX_NODES || !fusable(n)) {
                return false;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                Value v = n.input(i);
                if (v == null) {
                    continue;
                }
                Node p = v.producer();
                if (PassSupport.is(p, "DequantizeLinear")) {
                    if (source != null && source != v) {
                        return false;
                    }
                    source = v;
                } else if (p != null && fusable(p)) {
                    stack.add(p);
                } else if (i == 0 && !BINARY.contains(n.opType()) || !scalarFloat(PassSupport.known(v))) {
                    return false;
                }
            }
        }
        if (source == null) {
            return false;
        }
        for (Node n : region) {
            for (Node r : PassSupport.readers(consumers, n.output(0))) {
                if (!region.contains(r) && r != q) {
                    return false;
                }
            }
            if (PassSupport.isOutput(graph, n.output(0)) || n.output(0) == t
                    && PassSupport.readers(consumers, t).size() != 1) {
                return false;
            }
        }
        Node dq = source.producer();
        Tensor xs = PassSupport.known(dq.input(1));
        Tensor xz = dq.inputs().size() > 2 && dq.input(2) != null ? PassSupport.known(dq.input(2)) : null;
        if (!scalarFloat(xs) || xz == null || xz.size() != 1 || !eightBit(xz.dtype())) {
            return false;
        }
        List<Node> order = new ArrayList<>();
        for (Node n : graph.nodes()) {
            if (region.contains(n)) {
                order.add(n);
            }
        }
        float[] y = evaluate(order, source, t, xz.dtype() == DType.UINT8, Elements.toFloats(xs)[0],
                (int) Elements.toLongs(xz)[0]);
        if (y == null) {
            return false;
        }
        boolean yu = yz.dtype() == DType.UINT8;
        float scale = Elements.toFloats(ys)[0];
        int zero = (int) Elements.toLongs(yz)[0];
        Tensor table = Tensor.allocate(yz.dtype(), Shape.of(256));
        for (int b = 0; b < 256; b++) {
            Elements.setLong(table, b, quantize(y[b], scale, zero, yu));
        }
        Value tv = graph.newValue(q.name() + "_table");
        tv.setConstant(table);
        Node fused = new Node(q.name(), "QLookup", Node.TANDEM_DOMAIN, List.of(dq.input(0), tv), List.of(q.output(0)),
                Map.of());
        for (Node n : order) {
            graph.remove(n);
        }
        PassSupport.replaceNode(graph, q, fused);
        return true;
    }

    private static boolean fusable(Node n) {
        return n.domain().isEmpty() && OPS.contains(n.opType()) && n.outputs().size() == 1;
    }

    /**
     * The function at {@code out} for the 256 stored bytes of the source (index = the byte read as unsigned), or
     * null when a node's attributes are not understood.
     */
    private static float[] evaluate(List<Node> order, Value source, Value out, boolean unsigned, float scale,
                                    int zero) {
        Map<Value, float[]> v = new IdentityHashMap<>();
        float[] x = new float[256];
        for (int b = 0; b < 256; b++) {
            int q = unsigned ? b : (byte) b;
            x[b] = (float) (q - zero) * scale;
        }
        v.put(source, x);
        for (Node n : order) {
            float[] a = operand(v, n, 0);
            float[] r = new float[256];
            for (int b = 0; b < 256; b++) {
                float p = a[b];
                r[b] = switch (n.opType()) {
                    case "Sigmoid" -> (float) (1.0 / (1.0 + Math.exp(-p)));
                    case "Tanh" -> (float) Math.tanh(p);
                    case "Relu" -> Math.max(p, 0f);
                    case "LeakyRelu" -> p < 0 ? p * PassSupport.attrFloat(n, "alpha", 0.01f) : p;
                    case "HardSigmoid" -> Math.max(0f, Math.min(1f, PassSupport.attrFloat(n, "alpha", 0.2f) * p
                            + PassSupport.attrFloat(n, "beta", 0.5f)));
                    case "HardSwish" -> p * Math.min(Math.max(p + 3f, 0f), 6f) / 6f;
                    case "Clip" -> clip(n, p, v, b);
                    case "Mul" -> p * operand(v, n, 1)[b];
                    case "Add" -> p + operand(v, n, 1)[b];
                    case "Sub" -> p - operand(v, n, 1)[b];
                    case "Div" -> p / operand(v, n, 1)[b];
                    default -> throw new IllegalStateException(n.opType());
                };
            }
            v.put(n.output(0), r);
        }
        return v.get(out);
    }

    /** Input {@code i} of {@code n}: a subgraph value, or a one-element constant broadcast to 256 entries. */
    private static float[] operand(Map<Value, float[]> v, Node n, int i) {
        Value in = n.input(i);
        float[] known = v.get(in);
        if (known != null) {
            return known;
        }
        float[] c = new float[256];
        java.util.Arrays.fill(c, Elements.toFloats(PassSupport.known(in))[0]);
        return c;
    }

    private static float clip(Node n, float p, Map<Value, float[]> v, int b) {
        float lo = Float.NEGATIVE_INFINITY, hi = Float.POSITIVE_INFINITY;
        if (n.attribute("min") != null || n.attribute("max") != null) {
            lo = PassSupport.attrFloat(n, "min", lo);
            hi = PassSupport.attrFloat(n, "max", hi);
        }
        if (n.inputs().size() > 1 && n.input(1) != null) {
            lo = operand(v, n, 1)[b];
        }
        if (n.inputs().size() > 2 && n.input(2) != null) {
            hi = operand(v, n, 2)[b];
        }
        return Math.min(Math.max(p, lo), hi);
    }

    /** QuantizeLinear of one value: {@code saturate(rint(y / scale) + zero)}, NaN to the low end. */
    private static long quantize(float y, float scale, int zero, boolean unsigned) {
        float v = y / scale;
        int lo = unsigned ? 0 : -128, hi = unsigned ? 255 : 127;
        if (!(v >= lo - zero)) {
            return lo;
        }
        return (long) Math.min(hi, Math.rint(Math.min(v, hi - zero)) + zero);
    }

    private static boolean scalarFloat(Tensor t) {
        return t != null && t.dtype() == DType.FLOAT32 && t.size() == 1;
    }

    private static boolean eightBit(DType t) {
        return t == DType.UINT8 || t == DType.INT8;
    }
}
