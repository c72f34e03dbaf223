package dev.tandem.train.nn;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A layer or a network, as in {@code torch.nn.Module}: named children, parameters and buffers, a train/eval
 * flag, a state dict, and a {@link #forward(Var)} that emits graph nodes when the module is traced.
 *
 * <p><b>Names.</b> A subclass registers children ({@link #register}), parameters ({@link #addParameter}) and
 * buffers ({@link #addBuffer}) in its constructor; they share one namespace per module. Full names are dotted
 * paths from the root, PyTorch style ({@code features.0.weight}); {@link #namedParameters()},
 * {@link #namedBuffers()} and {@link #stateDict()} list them in registration order, depth first (a module's own
 * entries before its children's).
 *
 * <p><b>Tracing.</b> {@link #trace(TraceMode, int...)} builds a graph of the whole tree; inside a
 * {@code forward}, call children through {@link #call(Var)} so node names carry the module path. A module emits
 * training ops (batch statistics, dropout) only when traced in {@link TraceMode#TRAIN} and
 * {@link #isTraining()}.
 *
 * <p><b>Initialisation.</b> Layers initialise their parameters when constructed, from a fresh unseeded
 * {@link Random} (like PyTorch's global generator); call {@link #resetParameters(long)} for a reproducible
 * start.
 *
 * <p><b>Memory.</b> Parameters and buffers are off-heap; {@link #close()} frees those of the whole tree
 * (idempotent); using the module afterwards throws {@link IllegalStateException}. Not thread-safe.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Parameter> buffers = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    /**
     * Emits this module's computation on {@code x} and returns the result. Called while tracing; use
     * {@code x.tracer()} for the trace (its mode, bound parameters via {@link Tracer#state(Parameter)}).
     */
    public abstract Var forward(Var x);

    /** Runs {@link #forward} with this module's path as the name scope of the nodes it emits. */
    public final Var call(Var x) {
        ensureOpen();
        Tracer t = x.tracer();
        t.enter(this);
        try {
            return forward(x);
        } finally {
            t.exit();
        }
    }

    // ---- registration

    /** Registers a child under {@code name} and returns it. */
    protected final <M extends Module> M register(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    /** Creates a zero-filled trainable parameter of {@code shape} under {@code name}. */
    protected final Parameter addParameter(String name, int... shape) {
        checkName(name);
        Parameter p = new Parameter(Shape.of(shape), true);
        parameters.put(name, p);
        return p;
    }

    /** Creates a zero-filled buffer (state that is not trained) of {@code shape} under {@code name}. */
    protected final Parameter addBuffer(String name, int... shape) {
        checkName(name);
        Parameter p = new Parameter(Shape.of(shape), false);
        buffers.put(name, p);
        return p;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("Module entry names must be non-empty and contain no '.'; got '"
                    + name + "'");
        }
        if (children.containsKey(name) || parameters.containsKey(name) || buffers.containsKey(name)) {
            throw new IllegalArgumentException("'" + name + "' is already registered in " + getClass().getSimpleName());
        }
    }

    // ---- the tree

    /** Direct children by name, in registration order. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module ("" ) and every descendant, by dotted path, depth first. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (Map.Entry<String, Module> c : children.entrySet()) {
            c.getValue().collectModules(join(prefix, c.getKey()), out);
        }
    }

    /** Every trainable parameter of the tree by full dotted name, in a stable order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> m.parameters.forEach((n, p) -> out.put(join(path, n), p)));
        return out;
    }

    /** The values of {@link #namedParameters()}. */
    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Every buffer of the tree by full dotted name (e.g. {@code bn1.running_mean}). */
    public final Map<String, Parameter> namedBuffers() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> m.buffers.forEach((n, p) -> out.put(join(path, n), p)));
        return out;
    }

    /** Number of trainable parameter elements. */
    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.size();
        }
        return n;
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    // ---- train / eval

    /** Sets the training flag of this module and every descendant; returns this. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) {
            m.training = on;
        }
        return this;
    }

    /** {@code train(true)}. */
    public Module train() {
        return train(true);
    }

    /** {@code train(false)}. */
    public Module eval() {
        return train(false);
    }

    /** True when this module behaves as in training (batch statistics, dropout) in a TRAIN trace. */
    public final boolean isTraining() {
        return training;
    }

    // ---- state dict

    /**
     * Copies of every parameter and buffer by full name, PyTorch's {@code state_dict} order (per module, depth
     * first: parameters then buffers). PyTorch's {@code num_batches_tracked} is not kept.
     */
    public final Map<String, float[]> stateDict() {
        Map<String, float[]> out = new LinkedHashMap<>();
        stateEntries().forEach((n, p) -> out.put(n, p.toArray()));
        return out;
    }

    private Map<String, Parameter> stateEntries() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> {
            m.parameters.forEach((n, p) -> out.put(join(path, n), p));
            m.buffers.forEach((n, p) -> out.put(join(path, n), p));
        });
        return out;
    }

    /**
     * Loads parameters and buffers from {@code state} (row-major float arrays by full name). Nothing is changed
     * unless the whole load succeeds. Keys ending in {@code num_batches_tracked} (PyTorch's BatchNorm counter) are
     * ignored.
     *
     * @param strict when true, keys of the module missing from {@code state} and keys of {@code state} the
     *               module does not have are errors; when false they are skipped
     * @throws IllegalArgumentException listing every missing, unexpected (strict) and wrongly sized key
     */
    public final void loadStateDict(Map<String, float[]> state, boolean strict) {
        ensureOpen();
        Map<String, Parameter> own = stateEntries();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> wrongSize = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : own.entrySet()) {
            float[] v = state.get(e.getKey());
            if (v == null) {
                missing.add(e.getKey());
            } else if (v.length != e.getValue().size()) {
                wrongSize.add("'" + e.getKey() + "': " + v.length + " values, the module's is "
                        + e.getValue().shape() + " (" + e.getValue().size() + ")");
            }
        }
        for (String k : state.keySet()) {
            if (!own.containsKey(k) && !k.endsWith("num_batches_tracked")) {
                unexpected.add(k);
            }
        }
        if (!wrongSize.isEmpty() || strict && (!missing.isEmpty() || !unexpected.isEmpty())) {
            StringBuilder sb = new StringBuilder("Cannot load the state dict into " + getClass().getSimpleName() + ":");
            if (strict && !missing.isEmpty()) {
                sb.append("\n  missing keys: ").append(missing);
            }
            if (strict && !unexpected.isEmpty()) {
                sb.append("\n  unexpected keys: ").append(unexpected);
            }
            for (String w : wrongSize) {
                sb.append("\n  size mismatch for ").append(w);
            }
            if (strict && wrongSize.isEmpty()) {
                sb.append("\n  (loadStateDict(state, false) skips missing and unexpected keys)");
            }
            throw new IllegalArgumentException(sb.toString());
        }
        own.forEach((n, p) -> {
            float[] v = state.get(n);
            if (v != null) {
                p.copyFrom(v);
            }
        });
    }

    // ---- initialisation

    /** {@code resetParameters(new Random(seed))}: the same seed gives the same values. */
    public final void resetParameters(long seed) {
        resetParameters(new Random(seed));
    }

    /** Re-initialises every module of the tree, depth first, drawing from {@code random} in that order. */
    public final void resetParameters(Random random) {
        ensureOpen();
        for (Module m : namedModules().values()) {
            m.resetOwnParameters(random);
        }
    }

    /** Initialises this module's own parameters and buffers (not its children's). Default: nothing. */
    protected void resetOwnParameters(Random random) {
    }

    // ---- tracing

    /**
     * Traces this module into a new graph: a float32 batch input named {@code input} of {@code inputShape}
     * (first dimension the batch, declared symbolic), every parameter then every buffer bound under its full
     * name (graph inputs, or initializers in {@link TraceMode#EXPORT}), the forward pass, and its result as the
     * graph output. The caller owns the result and closes it (it closes the graph).
     */
    public final Traced trace(TraceMode mode, int... inputShape) {
        Tracer t = new Tracer(mode);
        try {
            return trace(t, t.batchInput("input", DType.FLOAT32, inputShape));
        } catch (RuntimeException e) {
            t.graph().close();
            throw e;
        }
    }

    /**
     * Traces this module into {@code tracer}'s graph on {@code input}: binds every parameter and buffer of the
     * tree, runs the forward pass and marks its result a graph output.
     */
    public final Traced trace(Tracer tracer, Var input) {
        ensureOpen();
        tracer.registerModules(namedModules());
        List<Traced.Binding> ps = new ArrayList<>();
        List<Traced.Binding> bs = new ArrayList<>();
        namedParameters().forEach((n, p) -> ps.add(new Traced.Binding(n, p, tracer.bind(n, p))));
        namedBuffers().forEach((n, p) -> bs.add(new Traced.Binding(n, p, tracer.bind(n, p))));
        Var out = call(input);
        tracer.output(out);
        return new Traced(tracer, input, out, ps, bs);
    }

    /**
     * The shape this module produces for a float32 input of {@code inputShape}, found by tracing it in
     * {@link TraceMode#EVAL} (the graph is discarded).
     */
    public final Shape outputShape(int... inputShape) {
        try (Traced t = trace(TraceMode.EVAL, inputShape)) {
            return t.output().shape();
        }
    }

    // ---- lifecycle and description

    /** Frees the parameters and buffers of the whole tree. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        parameters.values().forEach(Parameter::close);
        buffers.values().forEach(Parameter::close);
        children.values().forEach(Module::close);
    }

    protected final void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        }
    }

    /** The arguments shown in {@link #toString()}, e.g. {@code 1, 32, kernel_size=3}. Default: none. */
    protected String extraRepr() {
        return "";
    }

    /** A PyTorch-like description of the tree. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            sb.append('\n');
            children.forEach((n, c) -> sb.append("  (").append(n).append("): ")
                    .append(c.toString().replace("\n", "\n  ")).append('\n'));
        }
        return sb.append(')').toString();
    }
}
