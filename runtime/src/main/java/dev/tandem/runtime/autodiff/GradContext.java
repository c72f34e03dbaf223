package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@link GradientRule} sees: the node being differentiated, the gradients of its outputs, which inputs need
 * a gradient, and helpers that append nodes to the graph (named after the forward node, so profiles read well).
 */
public final class GradContext {
    private final Graph graph;
    private final Node node;
    private final Value[] outputGrads;
    private final boolean[] needs;
    private int counter;

    GradContext(Graph graph, Node node, Value[] outputGrads, boolean[] needs) {
        this.graph = graph;
        this.node = node;
        this.outputGrads = outputGrads;
        this.needs = needs;
    }

    public Node node() {
        return node;
    }

    /** The default-domain opset the graph imports. */
    public int opset() {
        return graph.opset("");
    }

    /** Input {@code i} of the forward node (null when absent). */
    public Value x(int i) {
        return i < node.inputs().size() ? node.input(i) : null;
    }

    /** Output {@code i} of the forward node. */
    public Value y(int i) {
        return node.output(i);
    }

    /** The gradient flowing into output {@code i}, or null when none does. */
    public Value dy(int i) {
        return i < outputGrads.length ? outputGrads[i] : null;
    }

    /** Whether input {@code i} needs a gradient (it lies on a path from a differentiated value). */
    public boolean needs(int i) {
        return i < needs.length && needs[i];
    }

    /** Fails unless no gradient flows into the outputs from {@code from} on (outputs the rule cannot handle). */
    public void requireNoGradFrom(int from) {
        for (int i = from; i < outputGrads.length; i++) {
            if (outputGrads[i] != null) {
                throw new UnsupportedModelException("No gradient through output " + i + " of " + node.describe());
            }
        }
    }

    /** Appends a default-domain node with one output. */
    public Value op(String type, List<Value> inputs, Attribute... attrs) {
        return emit("", type, 1, inputs, List.of(attrs))[0];
    }

    /** Appends a {@code dev.tandem} node with one output. */
    public Value tandem(String type, List<Value> inputs, List<Attribute> attrs) {
        return emit(Node.TANDEM_DOMAIN, type, 1, inputs, attrs)[0];
    }

    /** Appends a node with {@code outputs} outputs. */
    public Value[] emit(String domain, String type, int outputs, List<Value> inputs, List<Attribute> attrs) {
        String base = node.name().isEmpty() ? node.opType() : node.name();
        String name = "grad/" + base + "/" + type + (counter++ == 0 ? "" : "_" + counter);
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            outs.add(graph.newValue("grad_" + base));
        }
        Map<String, Attribute> a = new LinkedHashMap<>();
        for (Attribute at : attrs) {
            a.put(at.name(), at);
        }
        graph.add(new Node(name, type, domain, new ArrayList<>(inputs), outs, a));
        return outs.toArray(new Value[0]);
    }

    /** The forward node's attributes, except those named (to pass on to a gradient op). */
    public List<Attribute> attrsExcept(String... names) {
        List<Attribute> out = new ArrayList<>();
        for (Attribute a : node.attributes().values()) {
            if (!Arrays.asList(names).contains(a.name())) {
                out.add(a);
            }
        }
        return out;
    }

    /** {@code Shape(v)}: int64, folded to a constant at plan time. */
    public Value shapeOf(Value v) {
        return op("Shape", List.of(v));
    }

    /** {@code dy} summed down to {@code like}'s shape (numpy broadcasting undone); no copy when equal. */
    public Value unbroadcast(Value dy, Value like) {
        return tandem("ReduceToShape", List.of(dy, shapeOf(like)), List.of());
    }

    /** A scalar constant of value {@code v} with {@code like}'s element type (a CastLike of a float64 constant). */
    public Value scalarLike(double v, Value like) {
        Value c = graph.newValue("const");
        c.setConstant(Tensor.ofDoubles(Shape.scalar(), v));
        return op("CastLike", List.of(c, like));
    }

    /** An int64 constant vector. */
    public Value ints(long... v) {
        Value c = graph.newValue("const");
        c.setConstant(Tensor.ofLongs(Shape.of(v.length), v));
        return c;
    }

    /** {@code ReduceSum(x, axes, keepdims)}, in the form the graph's opset uses. */
    public Value reduceSum(Value x, long[] axes, boolean keepdims) {
        Attribute keep = Attribute.of("keepdims", keepdims ? 1L : 0L);
        if (opset() >= 13) {
            return op("ReduceSum", List.of(x, ints(axes)), keep);
        }
        return op("ReduceSum", List.of(x), Attribute.of("axes", axes), keep);
    }

    /** {@code Unsqueeze(x, axes)}, in the form the graph's opset uses. */
    public Value unsqueeze(Value x, long[] axes) {
        if (opset() >= 13) {
            return op("Unsqueeze", List.of(x, ints(axes)));
        }
        return op("Unsqueeze", List.of(x), Attribute.of("axes", axes));
    }

    /** The element type a value is declared with, or null when unknown. */
    public DType declaredType(Value v) {
        return v.declared() == null ? null : v.declared().dtype();
    }
}
