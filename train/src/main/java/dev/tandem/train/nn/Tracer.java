package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds a runtime {@link Graph} by tracing: graph inputs, constants, module state (parameters and buffers) and
 * nodes whose output shapes are computed here, so layers can size what follows. {@link Functional} holds the ops;
 * {@link Module#trace} drives a whole module.
 *
 * <p>The graph imports ONNX opset {@value #ONNX_OPSET} (IR version 8); the {@code dev.tandem} domain (version
 * {@value #TANDEM_OPSET}) is imported when the first node of that domain is emitted. The graph is handed to the
 * caller ({@link #graph()}), who closes it; it owns the constants made here (module state copied in
 * {@link TraceMode#EXPORT}, scalar constants). Not thread-safe: one thread traces.
 */
public final class Tracer {
    /** The ONNX opset the traced graphs import. */
    public static final int ONNX_OPSET = 17;
    /** The version of the {@code dev.tandem} domain imported when its ops are used. */
    public static final int TANDEM_OPSET = 1;
    /** Name of the int64 scalar graph input that seeds every {@code DropoutTrain} of a training graph. */
    public static final String SEED_INPUT = "dropout_seed";
    /** Name given to symbolic batch dimensions of declared inputs and outputs. */
    public static final String BATCH_DIM = "batch";
    /** Added (times k) to the seed for the k-th dropout, so same-shaped dropouts draw different masks. */
    private static final long SEED_STRIDE = 0x9E3779B97F4A7C15L;

    /** The type and static shape of one output of a node to emit. */
    public record Out(DType dtype, Shape shape) {
        public static Out f32(Shape shape) {
            return new Out(DType.FLOAT32, shape);
        }
    }

    private final TraceMode mode;
    private final Graph graph = new Graph();
    private final Map<Parameter, Var> state = new IdentityHashMap<>();
    private final Map<Module, String> modulePaths = new IdentityHashMap<>();
    private final Deque<String> scopes = new ArrayDeque<>();
    private final Map<String, Var> scalars = new HashMap<>();
    private Var seed;
    private int dropouts;
    private int nodeCount;
    private int batchSize = -1;

    public Tracer(TraceMode mode) {
        this.mode = mode;
        graph.opsets().put("", ONNX_OPSET);
        graph.setIrVersion(8);
        graph.setProducer("tandem");
    }

    public TraceMode mode() {
        return mode;
    }

    /** True in {@link TraceMode#TRAIN}: modules in training mode emit their training ops. */
    public boolean training() {
        return mode == TraceMode.TRAIN;
    }

    /** The graph being built (owned by the caller, who closes it). */
    public Graph graph() {
        return graph;
    }

    // ---- inputs and constants

    /** Declares a graph input with fixed dimensions. */
    public Var input(String name, DType dtype, int... dims) {
        return declareInput(name, dtype, dims, false);
    }

    /**
     * Declares a graph input whose first dimension is the batch: declared symbolic ({@value #BATCH_DIM}), traced
     * at {@code dims[0]}. Every batch input of one trace must have the same traced batch size.
     */
    public Var batchInput(String name, DType dtype, int... dims) {
        if (dims.length == 0) {
            throw new IllegalArgumentException("Batch input '" + name + "' needs at least one dimension");
        }
        if (batchSize >= 0 && dims[0] != batchSize) {
            throw new IllegalArgumentException("Batch input '" + name + "' traced with batch " + dims[0]
                    + "; this trace's batch is " + batchSize);
        }
        batchSize = dims[0];
        return declareInput(name, dtype, dims, true);
    }

    private Var declareInput(String name, DType dtype, int[] dims, boolean batch) {
        Value v = fresh(name);
        Shape shape = Shape.of(dims);
        v.setDeclared(declared(dtype, shape, batch));
        graph.inputs().add(v);
        return new Var(this, v, dtype, shape);
    }

    private static TensorType declared(DType dtype, Shape shape, boolean batch) {
        long[] d = new long[shape.rank()];
        String[] names = new String[shape.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = batch && i == 0 ? -1 : shape.dim(i);
        }
        if (batch && d.length > 0) {
            names[0] = BATCH_DIM;
        }
        return new TensorType(dtype, dtype.onnxCode(), d, names);
    }

    private Value fresh(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("A graph input or constant needs a name");
        }
        if (graph.find(name) != null) {
            throw new IllegalArgumentException("The graph already has a value named '" + name + "'");
        }
        return graph.value(name);
    }

    /** A constant the graph takes ownership of (closes with the graph), under a fresh name starting with hint. */
    public Var constant(String hint, Tensor tensor) {
        Value v = graph.newValue(hint);
        v.setConstant(tensor);
        return new Var(this, v, tensor.dtype(), tensor.shape());
    }

    /** A float32 constant holding {@code values} with shape {@code dims}. */
    public Var constant(String hint, float[] values, int... dims) {
        return constant(hint, Tensor.ofFloats(Shape.of(dims), values));
    }

    /** A float32 scalar (rank 0) constant, shared by every use of the same value in this trace. */
    public Var scalar(float value) {
        return scalars.computeIfAbsent("f" + Float.floatToIntBits(value),
                k -> constant("scalar", Tensor.ofFloats(Shape.scalar(), value)));
    }

    /** An int64 scalar (rank 0) constant, shared by every use of the same value in this trace. */
    public Var scalar(long value) {
        return scalars.computeIfAbsent("l" + value, k -> constant("scalar", Tensor.ofLongs(Shape.scalar(), value)));
    }

    /**
     * A variable for a value already in this graph (e.g. a gradient the runtime's autodiff added), with the type
     * and static shape the caller knows it has.
     *
     * @throws IllegalArgumentException when the value is not this graph's
     */
    public Var wrap(Value value, DType dtype, Shape shape) {
        if (graph.find(value.name()) != value) {
            throw new IllegalArgumentException("Value '" + value.name() + "' is not a value of this trace's graph");
        }
        return new Var(this, value, dtype, shape);
    }

    // ---- module state

    /**
     * Makes {@code p} part of the graph under {@code name}: a float32 graph input of its shape when the mode
     * keeps state as inputs, else an initializer holding a copy of its data.
     *
     * @throws IllegalArgumentException when {@code p} is already bound or the name is taken
     */
    public Var bind(String name, Parameter p) {
        if (state.containsKey(p)) {
            throw new IllegalArgumentException("'" + name + "' is already bound as '" + state.get(p).name() + "'");
        }
        Var v;
        if (mode.stateAsInputs()) {
            v = input(name, DType.FLOAT32, p.shape().dims());
        } else {
            Value value = fresh(name);
            Tensor copy = Tensor.allocate(DType.FLOAT32, p.shape());
            copy.copyFrom(p.tensor());
            value.setConstant(copy);
            v = new Var(this, value, DType.FLOAT32, p.shape());
        }
        state.put(p, v);
        return v;
    }

    /**
     * The variable of a bound parameter or buffer.
     *
     * @throws IllegalStateException when it was never bound (trace the root module through {@link Module#trace})
     */
    public Var state(Parameter p) {
        Var v = state.get(p);
        if (v == null) {
            throw new IllegalStateException("Parameter " + p + " is not bound in this trace: trace the root module "
                    + "with Module.trace, which binds every parameter and buffer of the module tree");
        }
        return v;
    }

    // ---- dropout seeds

    /**
     * The seed for the next {@code DropoutTrain}: the int64 scalar graph input {@value #SEED_INPUT} (created at
     * the first call) for the first dropout, {@code seed + k·0x9E3779B97F4A7C15} (an int64 Add) for the k-th.
     */
    public Var nextDropoutSeed() {
        if (!training()) {
            throw new IllegalStateException("Dropout seeds exist only in TRAIN traces; this trace is " + mode);
        }
        if (seed == null) {
            seed = input(SEED_INPUT, DType.INT64);
        }
        int k = dropouts++;
        if (k == 0) {
            return seed;
        }
        return emit("Add", "", List.of(seed, scalar(SEED_STRIDE * k)), Map.of(),
                new Out(DType.INT64, Shape.scalar())).getFirst();
    }

    /** The dropout seed input, or null when no dropout was traced in training mode. */
    public Var seedInput() {
        return seed;
    }

    // ---- nodes

    /**
     * Appends a node and returns its outputs. Inputs may contain null for absent optional inputs. Node and value
     * names carry the current module path (e.g. {@code features.0/Conv_3}).
     */
    public List<Var> emit(String opType, String domain, List<Var> inputs, Map<String, Attribute> attributes,
                          Out... outputs) {
        List<Value> in = new ArrayList<>(inputs.size());
        for (Var v : inputs) {
            if (v != null && v.tracer() != this) {
                throw new IllegalArgumentException(opType + ": input " + v + " belongs to another trace");
            }
            in.add(v == null ? null : v.value());
        }
        String scope = scopes.isEmpty() ? "" : scopes.peek();
        String prefix = scope.isEmpty() ? "" : scope + "/";
        List<Value> out = new ArrayList<>(outputs.length);
        List<Var> vars = new ArrayList<>(outputs.length);
        for (int i = 0; i < outputs.length; i++) {
            Value v = graph.newValue(prefix + opType + (i == 0 ? "" : "_" + i));
            out.add(v);
            vars.add(new Var(this, v, outputs[i].dtype(), outputs[i].shape()));
        }
        if (domain != null && domain.equals(Node.TANDEM_DOMAIN)) {
            graph.opsets().putIfAbsent(Node.TANDEM_DOMAIN, TANDEM_OPSET);
        }
        graph.add(new Node(prefix + opType + "_" + nodeCount++, opType, domain, in, out, attributes));
        return vars;
    }

    /** Appends a node of the ONNX domain with one output. */
    public Var emit(String opType, List<Var> inputs, Map<String, Attribute> attributes, DType dtype, Shape shape) {
        return emit(opType, "", inputs, attributes, new Out(dtype, shape)).getFirst();
    }

    /**
     * Marks {@code v} a graph output with a declared type; its first dimension is declared symbolic when the
     * trace has batch inputs and the output's first dimension equals the traced batch size.
     */
    public void output(Var v) {
        boolean batch = batchSize >= 0 && v.rank() > 0 && v.dim(0) == batchSize;
        v.value().setDeclared(declared(v.dtype(), v.shape(), batch));
        graph.outputs().add(v.value());
    }

    // ---- module scopes

    void registerModules(Map<String, Module> named) {
        for (Map.Entry<String, Module> e : named.entrySet()) {
            modulePaths.putIfAbsent(e.getValue(), e.getKey());
        }
    }

    void enter(Module m) {
        String path = modulePaths.get(m);
        if (path == null) {
            String parent = scopes.isEmpty() ? "" : scopes.peek();
            String own = m.getClass().getSimpleName().toLowerCase(Locale.ROOT);
            path = parent.isEmpty() ? own : parent + "." + own;
        }
        scopes.push(path);
    }

    void exit() {
        scopes.pop();
    }
}
