package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation of a {@link Graph}: appends to the graph the nodes that compute the
 * gradient of a scalar (or of seeded outputs) with respect to chosen values, one {@link GradientRule} per node
 * on the way, in reverse topological order. Where a value feeds several nodes its gradient contributions are
 * summed ({@code Sum}). The result is an ordinary graph: the same planner, memory planner and executor run the
 * forward and backward passes together, in one run.
 *
 * <p>Nodes not on a path from a differentiated value to the seeds get no backward node. A value the seeds do not
 * depend on gets no gradient (absent from the result).
 */
public final class Gradients {
    private final Rules rules;

    public Gradients(Rules rules) {
        this.rules = rules;
    }

    /** With every rule Tandem ships. */
    public static Gradients standard() {
        return new Gradients(Rules.standard());
    }

    /**
     * Appends the backward pass of {@code loss} (a one-element value, seeded with 1) with respect to {@code wrt}.
     *
     * @return the gradient value of each of {@code wrt} that {@code loss} depends on, in {@code wrt}'s order
     * @throws UnsupportedModelException naming the node when an op on the way has no gradient rule
     */
    public Map<Value, Value> build(Graph graph, Value loss, List<Value> wrt) {
        Value one = graph.newValue("grad_seed");
        one.setConstant(Tensor.ofDoubles(Shape.scalar(), 1.0));
        Value seed = graph.newValue("grad_" + loss.name());
        graph.add(new Node("grad/seed", "CastLike", "", List.of(one, loss), List.of(seed), Map.of()));
        return build(graph, Map.of(loss, seed), wrt);
    }

    /**
     * Appends the backward pass for given output gradients: {@code seeds} maps values to the gradients flowing into
     * them (same shapes), e.g. a one-hot over the logits to explain one class.
     */
    public Map<Value, Value> build(Graph graph, Map<Value, Value> seeds, List<Value> wrt) {
        graph.sort();
        Set<Value> active = Collections.newSetFromMap(new IdentityHashMap<>());
        active.addAll(wrt);
        List<Node> forward = new ArrayList<>();
        for (Node n : graph.nodes()) {
            boolean any = false;
            for (Value v : n.inputs()) {
                any |= v != null && active.contains(v);
            }
            if (any) {
                forward.add(n);
                active.addAll(n.outputs());
            }
        }
        Map<Value, List<Value>> contributions = new IdentityHashMap<>();
        for (Map.Entry<Value, Value> e : seeds.entrySet()) {
            contributions.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue());
        }
        Map<Value, Value> summed = new IdentityHashMap<>();
        for (int i = forward.size() - 1; i >= 0; i--) {
            Node n = forward.get(i);
            Value[] dys = new Value[n.outputs().size()];
            boolean any = false;
            for (int o = 0; o < dys.length; o++) {
                dys[o] = total(graph, n.output(o), contributions, summed);
                any |= dys[o] != null;
            }
            if (!any) {
                continue;
            }
            GradientRule rule = rules.find(n.domain(), n.opType());
            if (rule == null) {
                throw new UnsupportedModelException("No gradient rule for op '" + n.opType() + "'"
                        + (n.domain().isEmpty() ? "" : " of domain " + n.domain()) + " at node " + n.describe());
            }
            boolean[] needs = new boolean[n.inputs().size()];
            for (int k = 0; k < needs.length; k++) {
                needs[k] = n.input(k) != null && active.contains(n.input(k));
            }
            Value[] dx = rule.backward(new GradContext(graph, n, dys, needs));
            for (int k = 0; k < needs.length && k < dx.length; k++) {
                if (needs[k] && dx[k] != null) {
                    contributions.computeIfAbsent(n.input(k), v -> new ArrayList<>()).add(dx[k]);
                }
            }
        }
        Map<Value, Value> result = new LinkedHashMap<>();
        for (Value v : wrt) {
            Value g = total(graph, v, contributions, summed);
            if (g != null) {
                result.put(v, g);
            }
        }
        graph.sort();
        return result;
    }

    private static Value total(Graph graph, Value v, Map<Value, List<Value>> contributions, Map<Value, Value> summed) {
        Value done = summed.get(v);
        if (done != null) {
            return done;
        }
        List<Value> parts = contributions.get(v);
        if (parts == null || parts.isEmpty()) {
            return null;
        }
        Value g = parts.get(0);
        if (parts.size() > 1) {
            g = graph.newValue("grad_" + v.name() + "_sum");
            graph.add(new Node("grad/" + v.name() + "/Sum", "Sum", "", new ArrayList<>(parts), List.of(g), Map.of()));
        }
        summed.put(v, g);
        return g;
    }
}
