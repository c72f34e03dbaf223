package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of {@link Module#trace}: the graph, its data input and output, and the module state bound into it,
 * each with its graph value. The trace's {@link #tracer()} stays usable to append more (a loss, then the
 * runtime's autodiff and an optimizer step).
 *
 * <p>Graph inputs, in order: {@code input}, the parameters ({@link #parameters()}), the buffers
 * ({@link #buffers()}), then {@link Tracer#SEED_INPUT} when a dropout was traced in training mode, then whatever
 * is declared later. In {@link TraceMode#EXPORT} parameters and buffers are initializers instead.
 *
 * <p>Owns the graph: {@link #close()} closes it (not the module).
 */
public final class Traced implements AutoCloseable {
    /** A parameter or buffer, its full name and its graph value (a graph input, or an initializer on export). */
    public record Binding(String name, Parameter parameter, Var var) {
    }

    private final Tracer tracer;
    private final Var input;
    private final Var output;
    private final List<Binding> parameters;
    private final List<Binding> buffers;

    Traced(Tracer tracer, Var input, Var output, List<Binding> parameters, List<Binding> buffers) {
        this.tracer = tracer;
        this.input = input;
        this.output = output;
        this.parameters = List.copyOf(parameters);
        this.buffers = List.copyOf(buffers);
    }

    public Tracer tracer() {
        return tracer;
    }

    public Graph graph() {
        return tracer.graph();
    }

    /** The data input (float32, first dimension the batch). */
    public Var input() {
        return input;
    }

    /** The module's output (a graph output). */
    public Var output() {
        return output;
    }

    /** Trainable parameters in {@link Module#namedParameters()} order. */
    public List<Binding> parameters() {
        return parameters;
    }

    /** Buffers in {@link Module#namedBuffers()} order. */
    public List<Binding> buffers() {
        return buffers;
    }

    /** The dropout seed input, or null when the graph has none. */
    public Var seed() {
        return tracer.seedInput();
    }

    /**
     * The tensors to run the graph with, in graph input order: the module's own tensor for every bound parameter
     * and buffer, {@code others} by input name for the rest ({@code input}, labels, seed, optimizer state…).
     *
     * @throws IllegalArgumentException naming the inputs {@code others} lacks
     */
    public Tensor[] arguments(Map<String, Tensor> others) {
        Map<Value, Tensor> own = new IdentityHashMap<>();
        for (Binding b : parameters) {
            own.put(b.var().value(), b.parameter().tensor());
        }
        for (Binding b : buffers) {
            own.put(b.var().value(), b.parameter().tensor());
        }
        List<Value> in = graph().inputs();
        Tensor[] out = new Tensor[in.size()];
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < out.length; i++) {
            Tensor t = own.get(in.get(i));
            out[i] = t != null ? t : others.get(in.get(i).name());
            if (out[i] == null) {
                missing.add(in.get(i).name());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("No tensor given for graph inputs " + missing);
        }
        return out;
    }

    /** Closes the graph (and the constants it owns). Idempotent. */
    @Override
    public void close() {
        tracer.graph().close();
    }
}
