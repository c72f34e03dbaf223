package dev.tandem.runtime;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.graph.passes.Optimizer;
import dev.tandem.runtime.graph.passes.PassContext;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.onnx.OnnxReader;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.plan.MemoryPlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A loaded, optimized ONNX model, ready to run: the inference entry point of Tandem's runtime.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("resnet18.onnx"));
 *      Tensor x = Tensor.allocate(DType.FLOAT32, Shape.of(1, 3, 224, 224))) {
 *     Map<String, Tensor> out = model.run(Map.of("input", x));
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> A model is safe for concurrent {@link #run} calls from any number of threads: each run takes
 * its own arena from a pool. Kernels use the intra-op {@link ThreadPool} given in {@link Options} (or one the
 * model creates and owns). Concurrent runs share that pool.
 *
 * <p><b>Shapes.</b> Symbolic dimensions (a dynamic batch) are bound per run: the model keeps one plan per input
 * signature (types and shapes), the most recent {@link Options#planCacheSize()} of them.
 *
 * <p><b>Memory.</b> Weights live as long as the model; each plan has an arena per concurrent run; outputs are
 * new tensors the caller owns and must close. {@link #close()} frees everything; it must not race with runs.
 */
public final class Model implements AutoCloseable {
    /** Integer inputs up to this many elements may feed shapes: their values become part of the plan key. */
    private static final int SHAPE_INPUT_MAX_ELEMENTS = 64;

    /**
     * Load options.
     *
     * @param threads       intra-op threads when {@code pool} is null (0: all available processors)
     * @param pool          a pool to share with other models, or null for one owned by this model
     * @param optimize      run the graph optimizer (fusions, folding); off only for debugging
     * @param registry      the ops available
     * @param planCacheSize how many input signatures keep their plan
     * @param warmup        the first model loaded in a JVM gets the kernels compiled before it returns (see
     *                      {@link dev.tandem.runtime.kernels.KernelWarmup}): about 0.7 s more load, a first run
     *                      about half as long; for servers that must answer fast once ready. Off by default
     * @param maxMemory     the memory budget in bytes, 0 for none: loading refuses a model whose weights exceed it,
     *                      and planning (the first run of each input signature, or {@link #plan}) refuses inputs for
     *                      which weights plus the planned arena of one run exceed it, with a
     *                      {@link MemoryBudgetExceededException} naming both numbers. It bounds the tensor memory
     *                      Tandem plans, not the JVM's own (heap, code, threads); concurrent runs each take another
     *                      arena of the same size
     * @param keepWeights   keep the graph's copy of every weight readable. By default (false) a weight that only
     *                      packed kernels read (convolutions with explicit pads, a Gemm's constant B) is freed once
     *                      packed, so that the
     *                      model holds its weights once, not twice ({@link PackedWeights});
     *                      its tensor in {@link #graph()} is then closed, and a 3×3 convolution that takes the
     *                      Winograd path at the first plan's image size keeps only Winograd's weights (runs of
     *                      other sizes take that path too). Set it when code reads or changes the graph's weights
     *                      after planning
     */
    public record Options(int threads, ThreadPool pool, boolean optimize, OpRegistry registry, int planCacheSize,
                          boolean warmup, long maxMemory, boolean keepWeights) {
        public Options {
            if (maxMemory < 0) {
                throw new IllegalArgumentException("maxMemory must be >= 0 bytes (0: no budget); got " + maxMemory);
            }
        }

        public Options(int threads, ThreadPool pool, boolean optimize, OpRegistry registry, int planCacheSize,
                       boolean warmup, long maxMemory) {
            this(threads, pool, optimize, registry, planCacheSize, warmup, maxMemory, false);
        }

        public Options(int threads, ThreadPool pool, boolean optimize, OpRegistry registry, int planCacheSize) {
            this(threads, pool, optimize, registry, planCacheSize, false, 0);
        }

        public Options(int threads, ThreadPool pool, boolean optimize, OpRegistry registry, int planCacheSize,
                       boolean warmup) {
            this(threads, pool, optimize, registry, planCacheSize, warmup, 0);
        }

        public static Options defaults() {
            return new Options(0, null, true, OpRegistry.standard(), 8, false, 0, false);
        }

        public Options withThreads(int t) {
            return new Options(t, pool, optimize, registry, planCacheSize, warmup, maxMemory, keepWeights);
        }

        public Options withPool(ThreadPool p) {
            return new Options(threads, p, optimize, registry, planCacheSize, warmup, maxMemory, keepWeights);
        }

        public Options withOptimize(boolean o) {
            return new Options(threads, pool, o, registry, planCacheSize, warmup, maxMemory, keepWeights);
        }

        public Options withWarmup(boolean w) {
            return new Options(threads, pool, optimize, registry, planCacheSize, w, maxMemory, keepWeights);
        }

        /** A memory budget in bytes (0: none); see {@link MemorySize#parse} for sizes like "64m". */
        public Options withMaxMemory(long bytes) {
            return new Options(threads, pool, optimize, registry, planCacheSize, warmup, bytes, keepWeights);
        }

        /** Whether the graph's weights stay readable after they are packed (see {@link #keepWeights()}). */
        public Options withKeepWeights(boolean keep) {
            return new Options(threads, pool, optimize, registry, planCacheSize, warmup, maxMemory, keep);
        }
    }

    /** A graph input or output as declared by the model. */
    public record IoInfo(String name, TensorType type) {
        @Override
        public String toString() {
            return name + ": " + (type == null ? "?" : type.describe());
        }
    }

    private final Graph graph;
    private final OpRegistry registry;
    private final ThreadPool pool;
    private final boolean ownsPool;
    private final Sgemm gemm;
    private final MemoryPlanner planner = new GreedyBySizePlanner();
    private final int cacheSize;
    private final Map<String, ExecutionPlan> plans;
    private final Map<String, Integer> passChanges;
    private final Map<String, Integer> loadedOpCounts;
    private final long weightBytes;
    private final long maxMemory;
    private final PackedWeights packs;
    private volatile boolean closed;

    private Model(Graph graph, Options o, Map<String, Integer> loadedOpCounts) {
        this.graph = graph;
        this.registry = o.registry();
        this.ownsPool = o.pool() == null;
        this.pool = o.pool() != null ? o.pool()
                : new ThreadPool(o.threads() > 0 ? o.threads() : Runtime.getRuntime().availableProcessors());
        this.gemm = new Sgemm(pool);
        if (o.warmup()) {
            dev.tandem.runtime.kernels.KernelWarmup.ensure(gemm, 600);
        }
        this.cacheSize = Math.max(1, o.planCacheSize());
        this.plans = new java.util.LinkedHashMap<>(16, 0.75f, true);
        this.loadedOpCounts = loadedOpCounts;
        try {
            this.passChanges = o.optimize()
                    ? Optimizer.standard().run(graph, new PassContext(registry, gemm))
                    : Map.of();
        } catch (RuntimeException e) {
            if (ownsPool) {
                pool.close();
            }
            throw e;
        }
        long w = 0;
        for (Value v : graph.values().values()) {
            if (v.isConstant()) {
                w += v.constant().size() * v.constant().dtype().byteSize();
            }
        }
        this.weightBytes = w;
        this.maxMemory = o.maxMemory();
        this.packs = new PackedWeights(graph, !o.keepWeights());
        if (maxMemory > 0 && weightBytes > maxMemory) {
            if (ownsPool) {
                pool.close();
            }
            throw new MemoryBudgetExceededException("The model's weights alone need "
                    + MemorySize.describe(weightBytes) + " but the memory budget is " + MemorySize.describe(maxMemory)
                    + "; raise the budget to at least that plus a run's arena (tandem inspect shows both), or use a "
                    + "smaller model (tandem quantize stores weights in about a quarter of the bytes)",
                    weightBytes, 0, maxMemory);
        }
    }

    /** Loads a model file with default options. */
    public static Model load(Path file) {
        return load(file, Options.defaults());
    }

    /**
     * Loads a model file (external data is read from its folder).
     *
     * @throws ModelFormatException      when the file is missing, malformed or hostile
     * @throws UnsupportedModelException listing every unsupported op with its node name
     */
    public static Model load(Path file, Options options) {
        return fromGraph(OnnxReader.read(file), options);
    }

    /** Loads a model from bytes (external data is refused). */
    public static Model load(byte[] bytes, Options options) {
        return fromGraph(OnnxReader.read(bytes, null), options);
    }

    /** Wraps a graph (the model takes ownership of it). */
    public static Model fromGraph(Graph graph, Options options) {
        try {
            Map<String, Integer> counts = checkSupported(graph, options.registry());
            return new Model(graph, options, counts);
        } catch (RuntimeException e) {
            graph.close();
            throw e;
        }
    }

    private static Map<String, Integer> checkSupported(Graph graph, OpRegistry registry) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : graph.nodes()) {
            counts.merge(n.opType(), 1, Integer::sum);
            Op op = registry.find(n.domain(), n.opType());
            int opset = graph.opset(n.domain());
            if (op == null) {
                problems.add("Unsupported op '" + n.opType() + "'" + (n.domain().isEmpty() ? "" : " (domain '"
                        + n.domain() + "')") + " (opset " + opset + ") at node '" + n.name() + "'");
            } else if (opset < op.minOpset()) {
                problems.add("Op '" + n.opType() + "' at node '" + n.name() + "' uses opset " + opset
                        + "; Tandem supports it from opset " + op.minOpset());
            }
        }
        for (Value in : graph.inputs()) {
            TensorType t = in.declared();
            if (t != null && t.onnxType() < 0) {
                problems.add("Input '" + in.name() + "' is a sequence, map or optional; Tandem runs tensors only");
            } else if (t != null && t.dtype() == null) {
                problems.add("Input '" + in.name() + "' has ONNX element type " + t.onnxType()
                        + ", which Tandem does not support");
            }
        }
        for (Value out : graph.outputs()) {
            TensorType t = out.declared();
            if (t != null && t.onnxType() < 0) {
                problems.add("Output '" + out.name() + "' is a sequence, map or optional; Tandem runs tensors only");
            }
        }
        if (!problems.isEmpty()) {
            StringBuilder sb = new StringBuilder("The model uses what Tandem does not support:");
            for (String p : problems) {
                sb.append("\n  ").append(p);
            }
            sb.append("\nSupported ops: tandem inspect --ops");
            throw new UnsupportedModelException(sb.toString(), problems);
        }
        return counts;
    }

    // ---- description

    public List<IoInfo> inputs() {
        List<IoInfo> l = new ArrayList<>();
        for (Value v : graph.inputs()) {
            l.add(new IoInfo(v.name(), v.declared()));
        }
        return l;
    }

    public List<IoInfo> outputs() {
        List<IoInfo> l = new ArrayList<>();
        for (Value v : graph.outputs()) {
            l.add(new IoInfo(v.name(), v.declared()));
        }
        return l;
    }

    /** The model's {@code metadata_props}. */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(graph.metadata());
    }

    /** The optimized graph (read-only by contract). */
    public Graph graph() {
        return graph;
    }

    /** Op counts of the file as loaded, before optimization. */
    public Map<String, Integer> loadedOpCounts() {
        return Collections.unmodifiableMap(loadedOpCounts);
    }

    /** What each optimizer pass changed at load (pass name → rounds with changes). */
    public Map<String, Integer> passChanges() {
        return Collections.unmodifiableMap(passChanges);
    }

    /**
     * Bytes of weights and other constants held: the graph's constants, less those freed once prepared
     * ({@link Options#keepWeights()}), plus what convolutions prepared for their kernels (packed for the GEMM,
     * transformed for Winograd: 16/9 of a 3×3 convolution's weights). Before the first plan that is the graph's
     * constants; planning changes it, and the memory budget counts it after each plan.
     */
    public long weightBytes() {
        return weightBytes - packs.releasedBytes() + packs.preparedBytes();
    }

    /** The memory budget in bytes this model was loaded with; 0 when none ({@link Options#maxMemory()}). */
    public long maxMemory() {
        return maxMemory;
    }

    /** Number of parameters: elements of floating-point constants. */
    public long parameterCount() {
        long n = 0;
        for (Value v : graph.values().values()) {
            if (v.isConstant() && v.constant().dtype().isFloatingPoint()) {
                n += v.constant().size();
            }
        }
        return n;
    }

    public ThreadPool pool() {
        return pool;
    }

    // ---- running

    /**
     * Runs the model. Every graph input must be given by name with its declared type and a shape that fits its
     * declared dimensions. Returns one new tensor per graph output, by name in graph order; the caller owns and
     * closes them. Safe to call from many threads at once.
     *
     * @throws InvalidInputException         when inputs are missing, unknown, or of the wrong type or shape
     * @throws MemoryBudgetExceededException when the model has a budget and these input shapes need more (checked
     *                                       once per input signature, before anything is allocated for it)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        ensureOpen();
        List<Value> gin = graph.inputs();
        for (String name : inputs.keySet()) {
            if (gin.stream().noneMatch(v -> v.name().equals(name))) {
                throw new InvalidInputException("Unknown input '" + name + "'; the model's inputs are " + inputs());
            }
        }
        Tensor[] ordered = new Tensor[gin.size()];
        List<Tensor> temps = new ArrayList<>();
        try {
            for (int i = 0; i < ordered.length; i++) {
                Value v = gin.get(i);
                Tensor t = inputs.get(v.name());
                if (t == null) {
                    throw new InvalidInputException("Missing input '" + v.name() + "'; the model's inputs are "
                            + inputs());
                }
                TensorType decl = v.declared();
                if (decl != null && decl.dtype() != null && decl.dtype() != t.dtype()) {
                    throw new InvalidInputException("Input '" + v.name() + "' must be " + decl.describe() + "; got "
                            + t.dtype().name().toLowerCase(java.util.Locale.ROOT) + t.shape());
                }
                if (decl != null && !decl.accepts(t.shape())) {
                    throw new InvalidInputException("Input '" + v.name() + "' must have shape " + decl.describe()
                            + "; got " + t.shape());
                }
                if (!t.isContiguous()) {
                    t = t.contiguous();
                    temps.add(t);
                }
                ordered[i] = t;
            }
            ExecutionPlan plan = planFor(types(ordered), shapes(ordered), ordered, true);
            Tensor[] out = plan.runEntered(ordered, null);
            Map<String, Tensor> result = new LinkedHashMap<>();
            for (int o = 0; o < out.length; o++) {
                if (result.putIfAbsent(graph.outputs().get(o).name(), out[o]) != null) {
                    out[o].close();
                }
            }
            return result;
        } finally {
            for (Tensor t : temps) {
                t.close();
            }
        }
    }

    /** Runs a single-input model and returns its first output (the others are freed). */
    public Tensor run(Tensor input) {
        if (graph.inputs().size() != 1) {
            throw new InvalidInputException("The model has " + graph.inputs().size() + " inputs " + inputs()
                    + "; use run(Map)");
        }
        Map<String, Tensor> out = run(Map.of(graph.inputs().get(0).name(), input));
        Tensor first = null;
        for (Tensor t : out.values()) {
            if (first == null) {
                first = t;
            } else {
                t.close();
            }
        }
        return first;
    }

    /**
     * The plan for inputs of these shapes (types as declared; symbolic dimensions must be given), creating it if
     * needed: for {@code inspect} and benchmarks (arena size, steps, multiply-adds). Small integer inputs are
     * planned as zeros. The plan stays valid while it is in the model's cache: use it before the model sees more
     * than {@link Options#planCacheSize()} other input signatures.
     *
     * @throws MemoryBudgetExceededException when the model has a budget and weights plus this plan's arena exceed it
     */
    public ExecutionPlan plan(Map<String, Shape> shapes) {
        ensureOpen();
        List<Value> gin = graph.inputs();
        DType[] types = new DType[gin.size()];
        Shape[] dims = new Shape[gin.size()];
        Tensor[] known = new Tensor[gin.size()];
        try {
            for (int i = 0; i < types.length; i++) {
                Value v = gin.get(i);
                Shape s = shapes.get(v.name());
                if (s == null) {
                    if (v.declared() == null || v.declared().dims() == null) {
                        throw new InvalidInputException("Give a shape for input '" + v.name() + "'");
                    }
                    try {
                        s = v.declared().concrete(1);
                    } catch (ArithmeticException | IllegalArgumentException e) {
                        throw new InvalidInputException("Input '" + v.name() + "' declares a shape Tandem cannot hold: "
                                + v.declared().describe());
                    }
                }
                types[i] = v.declared() != null && v.declared().dtype() != null ? v.declared().dtype() : DType.FLOAT32;
                dims[i] = s;
                // Small integer inputs may feed shapes: plan them as zeros (their values join the plan key).
                if (shapeInput(types[i], s)) {
                    known[i] = Tensor.allocate(types[i], s);
                }
            }
            return planFor(types, dims, known, false);
        } finally {
            for (Tensor t : known) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    private static DType[] types(Tensor[] ts) {
        DType[] d = new DType[ts.length];
        for (int i = 0; i < ts.length; i++) {
            d[i] = ts[i].dtype();
        }
        return d;
    }

    private static Shape[] shapes(Tensor[] ts) {
        Shape[] s = new Shape[ts.length];
        for (int i = 0; i < ts.length; i++) {
            s[i] = ts[i].shape();
        }
        return s;
    }

    /**
     * The plan for inputs of these types and shapes; {@code values} holds the inputs' values where known (only
     * small integer ones are used). When {@code enter}, a run is registered on the plan before the cache lock is
     * let go.
     */
    private ExecutionPlan planFor(DType[] types, Shape[] shapes, Tensor[] values, boolean enter) {
        StringBuilder key = new StringBuilder();
        Tensor[] known = null;
        for (int i = 0; i < types.length; i++) {
            key.append(types[i].ordinal()).append(shapes[i]).append(';');
            if (values[i] != null && shapeInput(types[i], shapes[i])) {
                if (known == null) {
                    known = new Tensor[types.length];
                }
                known[i] = values[i];
                key.append(java.util.Arrays.toString(dev.tandem.runtime.ops.Elements.toLongs(values[i]))).append(';');
            }
        }
        String k = key.toString();
        synchronized (plans) {
            ensureOpen();
            ExecutionPlan p = plans.get(k);
            if (p != null) {
                if (enter) {
                    p.enter();
                }
                return p;
            }
            p = ExecutionPlan.build(graph, registry, gemm, packs, planner, types, shapes, known);
            if (maxMemory > 0 && weightBytes() + p.arenaBytes() > maxMemory) {
                long arena = p.arenaBytes();
                p.close();
                throw overBudget(arena, shapes);
            }
            plans.put(k, p);
            if (plans.size() > cacheSize) {
                // A run may still be using the evicted plan: it closes when the last one finishes.
                plans.remove(plans.keySet().iterator().next()).retire();
            }
            if (enter) {
                p.enter();
            }
            return p;
        }
    }

    private MemoryBudgetExceededException overBudget(long arenaBytes, Shape[] shapes) {
        StringBuilder in = new StringBuilder();
        List<Value> gin = graph.inputs();
        for (int i = 0; i < shapes.length; i++) {
            in.append(i == 0 ? "" : ", ").append(gin.get(i).name()).append(' ').append(shapes[i]);
        }
        long weights = weightBytes();
        return new MemoryBudgetExceededException("The model needs " + MemorySize.describe(weights + arenaBytes)
                + " (weights " + weights + " + arena " + arenaBytes + " for inputs " + in
                + ") but the memory budget is " + MemorySize.describe(maxMemory)
                + "; raise the budget to at least " + (weights + arenaBytes) + " bytes or run smaller batches",
                weights, arenaBytes, maxMemory);
    }

    private static boolean shapeInput(DType t, Shape s) {
        return (t == DType.INT64 || t == DType.INT32) && s.size() <= SHAPE_INPUT_MAX_ELEMENTS;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("The model is closed");
        }
    }

    /** Frees plans, weights and (when owned) the thread pool. Runs must have finished. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        synchronized (plans) {
            closed = true;
            // Runs still in flight (a caller racing close, against the contract) keep their plan until they end.
            for (ExecutionPlan p : plans.values()) {
                p.retire();
            }
            plans.clear();
        }
        graph.close();
        if (ownsPool) {
            pool.close();
        }
    }

    /** The op types the registry supports, sorted. */
    public static Set<String> supportedOps(OpRegistry registry) {
        return registry.all().keySet();
    }
}
