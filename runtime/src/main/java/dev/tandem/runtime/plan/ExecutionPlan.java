package dev.tandem.runtime.plan;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A graph prepared for one input signature (types and shapes of the inputs, plus the values of small integer
 * inputs that shapes may depend on): every node's kernel prepared with concrete shapes, everything computable
 * before the run folded into constants, and every intermediate value given an offset in one arena.
 *
 * <p>Running allocates no tensor memory: each concurrent run takes an arena from a pool (creating one only when
 * all are busy) and gives it back. A plan is therefore safe for any number of concurrent runs; runs on one arena
 * never overlap. Closing frees the arenas and the constants folded for this plan.
 */
public final class ExecutionPlan implements AutoCloseable {
    /** Byte alignment of every arena buffer (a cache line, and a full 512-bit vector). */
    public static final int ALIGNMENT = 64;

    /** No single value may be larger: a model asking for more is refused, never an OutOfMemoryError. */
    public static final long MAX_VALUE_BYTES = 1L << 34;

    /** Where a planned value lives: bound by the caller, a constant, in the arena, or a view of another value. */
    public enum Placement { INPUT, CONST, ARENA, ALIAS }

    /**
     * One value of the plan, for a backend that executes the plan on its own device ({@link #values()}).
     *
     * @param placement where it lives
     * @param input for {@link Placement#INPUT}, the graph input's index (else -1)
     * @param constant for {@link Placement#CONST}, the value (read-only; owned by the plan or the graph)
     * @param offset for {@link Placement#ARENA}, the byte offset in the arena of {@link #arenaBytes()}
     * @param aliasOf for {@link Placement#ALIAS}, the value whose bytes it shares (same element order)
     */
    public record PlannedValue(Placement placement, DType dtype, Shape shape, int input, Tensor constant, long offset,
                               int aliasOf) {
    }

    /**
     * One step of the plan: its node and the indexes (into {@link #values()}) of what it reads (-1 for an absent
     * optional input) and writes. Constant subgraphs are already folded away.
     */
    public record PlannedStep(Node node, int[] inputs, int[] outputs) {
    }

    private record Step(Node node, Kernel kernel, int[] in, int[] out, int aliasSource, long multiplyAdds,
                        int reuses) {
    }

    private final List<PlannedValue> slots;
    private final List<Step> steps;
    private final int[] outputSlots;
    private final long arenaBytes;
    private final long foldedBytes;
    private final long multiplyAdds;
    private final Map<String, Integer> stepCounts;
    private final List<Tensor> owned;
    private final int inputCount;
    private final ConcurrentLinkedDeque<Instance> free = new ConcurrentLinkedDeque<>();
    private final List<Instance> all = new ArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean retired;
    private volatile boolean closed;

    private ExecutionPlan(List<PlannedValue> slots, List<Step> steps, int[] outputSlots, long arenaBytes, long foldedBytes,
                          long multiplyAdds, Map<String, Integer> stepCounts, List<Tensor> owned, int inputCount) {
        this.slots = slots;
        this.steps = steps;
        this.outputSlots = outputSlots;
        this.arenaBytes = arenaBytes;
        this.foldedBytes = foldedBytes;
        this.multiplyAdds = multiplyAdds;
        this.stepCounts = stepCounts;
        this.owned = owned;
        this.inputCount = inputCount;
    }

    /**
     * Plans {@code graph} for inputs of the given types and shapes.
     *
     * @param known per graph input, its value when it is to be treated as known at plan time (else null); the
     *              plan then holds only for inputs with these values
     * @throws ModelException when a node is invalid or unsupported for these inputs
     */
    public static ExecutionPlan build(Graph graph, OpRegistry registry, Sgemm gemm, MemoryPlanner planner,
                                      DType[] inputTypes, Shape[] inputShapes, Tensor[] known) {
        return build(graph, registry, gemm, PackedWeights.none(), planner, inputTypes, inputShapes, known);
    }

    /**
     * As {@link #build(Graph, OpRegistry, Sgemm, MemoryPlanner, DType[], Shape[], Tensor[])}, with ops taking their
     * prepared weights from {@code packs} (the model's, shared by its plans; it may free graph constants that only
     * their packed form is read from).
     */
    public static ExecutionPlan build(Graph graph, OpRegistry registry, Sgemm gemm, PackedWeights packs,
                                      MemoryPlanner planner, DType[] inputTypes, Shape[] inputShapes, Tensor[] known) {
        Builder b = new Builder(gemm, packs);
        try {
            return b.build(graph, registry, planner, inputTypes, inputShapes, known);
        } catch (RuntimeException e) {
            for (Tensor t : b.owned) {
                t.close();
            }
            throw e;
        }
    }

    private static final class Builder {
        final Sgemm gemm;
        final List<PlannedValue> slots = new ArrayList<>();
        final Map<Value, Integer> slotOf = new IdentityHashMap<>();
        final List<Tensor> owned = new ArrayList<>();
        final List<Step> steps = new ArrayList<>();
        final Map<String, Integer> counts = new TreeMap<>();
        long folded;
        long macs;

        final PackedWeights packs;

        Builder(Sgemm gemm, PackedWeights packs) {
            this.gemm = gemm;
            this.packs = packs;
        }

        int constSlot(Tensor t) {
            slots.add(new PlannedValue(Placement.CONST, t.dtype(), t.shape(), -1, t, 0, -1));
            return slots.size() - 1;
        }

        int slotFor(Value v, Node reader) {
            Integer s = slotOf.get(v);
            if (s != null) {
                return s;
            }
            if (v.isConstant()) {
                int c = constSlot(v.constant());
                slotOf.put(v, c);
                return c;
            }
            throw new ModelException("Node " + reader.describe() + " reads '" + v.name() + "' before it is computed");
        }

        ExecutionPlan build(Graph graph, OpRegistry registry, MemoryPlanner planner, DType[] inputTypes,
                            Shape[] inputShapes, Tensor[] known) {
            List<Value> inputs = graph.inputs();
            for (int i = 0; i < inputs.size(); i++) {
                if (known != null && known[i] != null) {
                    Tensor copy = Tensor.allocate(known[i].dtype(), known[i].shape());
                    copy.copyFrom(known[i]);
                    owned.add(copy);
                    slotOf.put(inputs.get(i), constSlot(copy));
                } else {
                    slots.add(new PlannedValue(Placement.INPUT, inputTypes[i], inputShapes[i], i, null, 0, -1));
                    slotOf.put(inputs.get(i), slots.size() - 1);
                }
            }
            for (Node node : graph.nodes()) {
                prepareNode(graph, registry, node);
            }
            int[] outs = new int[graph.outputs().size()];
            for (int i = 0; i < outs.length; i++) {
                outs[i] = slotFor(graph.outputs().get(i), null);
            }
            // Lifetimes of arena buffers; an alias keeps its root buffer alive.
            int n = slots.size();
            int[] first = new int[n];
            int[] last = new int[n];
            java.util.Arrays.fill(first, -1);
            java.util.Arrays.fill(last, -1);
            for (int si = 0; si < steps.size(); si++) {
                Step st = steps.get(si);
                for (int o : st.out) {
                    int r = root(o);
                    if (slots.get(r).placement() == Placement.ARENA && first[r] < 0) {
                        first[r] = si;
                    }
                    last[r] = Math.max(last[r], si);
                }
                for (int in : st.in) {
                    if (in >= 0) {
                        int r = root(in);
                        last[r] = Math.max(last[r], si);
                    }
                }
            }
            for (int o : outs) {
                int r = root(o);
                last[r] = steps.size();
            }
            // Outputs written over an input that dies at their step share its buffer (Prepared.reuses): the pair is
            // one buffer alive from the input's first step to the output's last.
            int[] shares = new int[n];
            for (int s = 0; s < n; s++) {
                shares[s] = s;
            }
            for (int si = 0; si < steps.size(); si++) {
                Step st = steps.get(si);
                if (st.reuses < 0 || st.kernel == null) {
                    continue;
                }
                int r = shares[root(st.reuses)], o = st.out[0];
                // the step must read that buffer only as the input it may write over (not also as, say, the
                // convolution's own input, which it reads while it writes)
                int reads = 0;
                for (int in : st.in) {
                    reads += in >= 0 && shares[root(in)] == r ? 1 : 0;
                }
                PlannedValue rs = slots.get(r), os = slots.get(o);
                if (reads == 1 && rs.placement() == Placement.ARENA && os.placement() == Placement.ARENA
                        && last[r] == si && first[o] == si && rs.dtype == os.dtype
                        && rs.shape.size() == os.shape.size()) {
                    shares[o] = r;
                    last[r] = Math.max(last[r], last[o]);
                }
            }
            List<BufferRequest> requests = new ArrayList<>();
            List<Integer> requestSlots = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                if (slots.get(s).placement() == Placement.ARENA && shares[s] == s) {
                    PlannedValue sl = slots.get(s);
                    long bytes = sl.shape.size() * sl.dtype.byteSize();
                    requests.add(new BufferRequest(bytes, Math.max(first[s], 0), Math.max(last[s], first[s])));
                    requestSlots.add(s);
                }
            }
            long[] offsets = planner.place(requests, ALIGNMENT);
            long[] offsetOf = new long[n];
            for (int i = 0; i < offsets.length; i++) {
                offsetOf[requestSlots.get(i)] = offsets[i];
            }
            for (int s = 0; s < n; s++) {
                PlannedValue sl = slots.get(s);
                if (sl.placement() == Placement.ARENA) {
                    // an output merged into an input's buffer takes that buffer's offset
                    slots.set(s, new PlannedValue(Placement.ARENA, sl.dtype, sl.shape, -1, null, offsetOf[shares[s]],
                            -1));
                }
            }
            long arena = MemoryPlanner.arenaBytes(requests, offsets);
            return new ExecutionPlan(List.copyOf(slots), List.copyOf(steps), outs, arena, folded, macs,
                    new LinkedHashMap<>(counts), List.copyOf(owned), inputs.size());
        }

        int root(int s) {
            while (slots.get(s).placement() == Placement.ALIAS) {
                s = slots.get(s).aliasOf;
            }
            return s;
        }

        void prepareNode(Graph graph, OpRegistry registry, Node node) {
            Op op = registry.find(node.domain(), node.opType());
            if (op == null) {
                throw new dev.tandem.runtime.UnsupportedModelException("Unsupported op '" + node.opType()
                        + "' at node '" + node.name() + "'");
            }
            int k = node.inputs().size();
            DType[] dt = new DType[k];
            Shape[] sh = new Shape[k];
            Tensor[] cs = new Tensor[k];
            int[] in = new int[k];
            boolean allKnown = true;
            for (int i = 0; i < k; i++) {
                Value v = node.input(i);
                if (v == null) {
                    in[i] = -1;
                    continue;
                }
                int s = slotFor(v, node);
                in[i] = s;
                PlannedValue sl = slots.get(s);
                dt[i] = sl.dtype;
                sh[i] = sl.shape;
                cs[i] = constantOf(s);
                allKnown &= cs[i] != null;
            }
            for (int m : op.mutatedInputs(k)) {
                if (m < k && in[m] >= 0 && slots.get(in[m]).placement() != Placement.INPUT) {
                    throw new ModelException(node.describe() + " writes its input " + m + " ('"
                            + node.input(m).name() + "') in place, so that input must be a graph input bound to "
                            + "a tensor the caller owns; here it is " + (cs[m] != null ? "a constant"
                            : "computed by another node"));
                }
                allKnown = false;
            }
            // Shape and Size read only their input's shape: they fold even when the input is computed at run time.
            boolean shapeOnly = node.domain().isEmpty()
                    && (node.opType().equals("Shape") || node.opType().equals("Size"));
            if (shapeOnly) {
                allKnown = true;
                for (int i = 1; i < k; i++) {
                    allKnown &= in[i] < 0 || cs[i] != null;
                }
            }
            OpContext ctx = new OpContext(node, graph.opset(node.domain()), dt, sh, cs, gemm, packs);
            Prepared p;
            try {
                p = op.prepare(ctx);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException(node.describe() + ": cannot prepare for inputs "
                        + java.util.Arrays.toString(sh) + ": " + e.getMessage(), e);
            }
            int outCount = node.outputs().size();
            if (p.outputs().size() < outCount) {
                throw new ModelException(node.describe() + " declares " + outCount + " outputs; the op produces "
                        + p.outputs().size());
            }
            for (Prepared.Output po : p.outputs()) {
                long bytes = po.shape().size() > MAX_VALUE_BYTES ? Long.MAX_VALUE
                        : po.shape().size() * po.dtype().byteSize();
                if (bytes > MAX_VALUE_BYTES) {
                    throw new ModelException(node.describe() + " would produce " + po.dtype() + po.shape()
                            + ", more than the " + MAX_VALUE_BYTES + " bytes allowed for one value");
                }
            }
            if (allKnown && op.mutatedInputs(k).length == 0) {
                fold(node, p, in);
                return;
            }
            counts.merge(node.opType(), 1, Integer::sum);
            macs += p.multiplyAdds();
            int[] out = new int[outCount];
            for (int o = 0; o < outCount; o++) {
                Prepared.Output po = p.outputs().get(o);
                if (p.isAlias() && o == 0) {
                    slots.add(new PlannedValue(Placement.ALIAS, po.dtype(), po.shape(), -1, null, 0, in[p.aliasOf()]));
                } else {
                    slots.add(new PlannedValue(Placement.ARENA, po.dtype(), po.shape(), -1, null, 0, -1));
                }
                out[o] = slots.size() - 1;
                slotOf.put(node.output(o), out[o]);
            }
            steps.add(new Step(node, p.kernel(), in, out, p.isAlias() ? in[p.aliasOf()] : -1, p.multiplyAdds(),
                    p.reuses() >= 0 && p.reuses() < in.length ? in[p.reuses()] : -1));
        }

        Tensor constantOf(int s) {
            PlannedValue sl = slots.get(s);
            if (sl.placement() == Placement.CONST) {
                return sl.constant;
            }
            return null;
        }

        static Tensor allocate(Node node, Prepared.Output po) {
            try {
                return Tensor.allocate(po.dtype(), po.shape());
            } catch (OutOfMemoryError e) {
                throw new ModelException(node.describe() + ": not enough memory for a constant of " + po.dtype()
                        + po.shape());
            }
        }

        /** Runs a node whose inputs are all known now, turning its outputs into constants. */
        void fold(Node node, Prepared p, int[] in) {
            Tensor[] ins = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) {
                ins[i] = in[i] < 0 ? null : slots.get(in[i]).constant;
            }
            int outCount = node.outputs().size();
            if (p.isAlias()) {
                Tensor src = ins[p.aliasOf()].contiguous();
                Prepared.Output po = p.outputs().get(0);
                Tensor t = allocate(node, po);
                owned.add(t);
                dev.tandem.runtime.ops.Elements.copy(src, 0, t, 0, t.size());
                if (src != ins[p.aliasOf()]) {
                    src.close();
                }
                folded += t.size() * t.dtype().byteSize();
                slotOf.put(node.output(0), constSlot(t));
                return;
            }
            Tensor[] outs = new Tensor[p.outputs().size()];
            for (int o = 0; o < outs.length; o++) {
                Prepared.Output po = p.outputs().get(o);
                outs[o] = allocate(node, po);
                owned.add(outs[o]);
            }
            try {
                p.kernel().run(ins, outs);
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException(node.describe() + " failed while folding constants: " + e, e);
            }
            for (int o = 0; o < outCount; o++) {
                folded += outs[o].size() * outs[o].dtype().byteSize();
                slotOf.put(node.output(o), constSlot(outs[o]));
            }
        }
    }

    /** Bytes of the arena each concurrent run uses. */
    public long arenaBytes() {
        return arenaBytes;
    }

    /** Bytes of constants computed for this plan (folded shape arithmetic and the like). */
    public long foldedBytes() {
        return foldedBytes;
    }

    /** Multiply-adds of one run, as the ops report them. */
    public long multiplyAdds() {
        return multiplyAdds;
    }

    /** Number of kernel steps one run executes. */
    public int stepCount() {
        return steps.size();
    }

    /** Steps per op type. */
    public Map<String, Integer> stepCounts() {
        return stepCounts;
    }

    /** Arenas created so far (the most runs that were ever in flight at once). */
    public int arenaCount() {
        synchronized (all) {
            return all.size();
        }
    }

    /**
     * Every value of the plan, indexed as {@link PlannedStep} and {@link #outputValues()} refer to them: what a
     * backend needs to run the same plan on its own device, with the same arena offsets and aliases.
     */
    public List<PlannedValue> values() {
        return slots;
    }

    /** The steps in execution order (see {@link #values()}). */
    public List<PlannedStep> plannedSteps() {
        List<PlannedStep> out = new ArrayList<>(steps.size());
        for (Step st : steps) {
            out.add(new PlannedStep(st.node(), st.in().clone(), st.out().clone()));
        }
        return out;
    }

    /** How many inputs {@link #run} takes (the graph's inputs, those known at plan time included). */
    public int inputCount() {
        return inputCount;
    }

    /** For each graph output, the index of its value in {@link #values()}. */
    public int[] outputValues() {
        return outputSlots.clone();
    }

    /** Types and shapes of the outputs this plan produces. */
    public List<Prepared.Output> outputs() {
        List<Prepared.Output> out = new ArrayList<>();
        for (int s : outputSlots) {
            out.add(new Prepared.Output(slots.get(s).dtype, slots.get(s).shape));
        }
        return out;
    }

    /**
     * Runs the plan. {@code inputs} are the graph inputs in graph order, contiguous, with the types and shapes the
     * plan was built for. Returns new tensors the caller owns, one per graph output.
     */
    public Tensor[] run(Tensor[] inputs) {
        return run(inputs, null);
    }

    /**
     * Runs the plan; when {@code stepNanos} is not null, adds each step's wall time to it (indexed by step, for
     * profiling).
     */
    public Tensor[] run(Tensor[] inputs, long[] stepNanos) {
        enter();
        return runEntered(inputs, stepNanos);
    }

    /**
     * Marks a run as started: a retired plan stays open until every entered run has finished. Pair with
     * {@link #runEntered}.
     *
     * @throws IllegalStateException when the plan is closed
     */
    public void enter() {
        inFlight.incrementAndGet();
        if (closed) {
            inFlight.decrementAndGet();
            throw new IllegalStateException("The model is closed");
        }
    }

    /**
     * Closes the plan once the runs in flight have finished (a model evicting it from its cache calls this).
     */
    public void retire() {
        retired = true;
        if (inFlight.get() == 0) {
            close();
        }
    }

    /** Runs after {@link #enter()}; always balances it. */
    public Tensor[] runEntered(Tensor[] inputs, long[] stepNanos) {
        try {
            return execute(inputs, stepNanos);
        } finally {
            if (inFlight.decrementAndGet() == 0 && retired) {
                close();
            }
        }
    }

    private Tensor[] execute(Tensor[] inputs, long[] stepNanos) {
        Instance inst = free.pollFirst();
        if (inst == null) {
            inst = newInstance();
        }
        try {
            Tensor[] v = inst.values;
            for (int s = 0; s < slots.size(); s++) {
                if (slots.get(s).placement() == Placement.INPUT) {
                    v[s] = inputs[slots.get(s).input];
                }
            }
            int si = 0;
            try {
                for (; si < steps.size(); si++) {
                    Step st = steps.get(si);
                    long t0 = stepNanos == null ? 0 : System.nanoTime();
                    if (st.kernel == null) {
                        Tensor src = v[st.aliasSource];
                        PlannedValue a = slots.get(st.out[0]);
                        v[st.out[0]] = Tensor.wrap(src.segment(), src.offset(), a.dtype, a.shape);
                    } else {
                        Tensor[] ins = inst.stepIn[si];
                        Tensor[] outs = inst.stepOut[si];
                        for (int i = 0; i < st.in.length; i++) {
                            ins[i] = st.in[i] < 0 ? null : v[st.in[i]];
                        }
                        for (int o = 0; o < st.out.length; o++) {
                            outs[o] = v[st.out[o]];
                        }
                        st.kernel.run(ins, outs);
                    }
                    if (stepNanos != null) {
                        stepNanos[si] += System.nanoTime() - t0;
                    }
                }
            } catch (ModelException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ModelException("Node " + steps.get(si).node.describe() + " failed: " + e, e);
            }
            Tensor[] result = new Tensor[outputSlots.length];
            try {
                for (int o = 0; o < outputSlots.length; o++) {
                    Tensor src = v[outputSlots[o]];
                    Tensor t = Tensor.allocate(src.dtype(), src.shape());
                    result[o] = t;
                    t.copyFrom(src);
                }
            } catch (RuntimeException e) {
                for (Tensor t : result) {
                    if (t != null) {
                        t.close();
                    }
                }
                throw e;
            }
            return result;
        } finally {
            for (int s = 0; s < slots.size(); s++) {
                Placement k = slots.get(s).placement;
                if (k == Placement.INPUT || k == Placement.ALIAS) {
                    inst.values[s] = null;
                }
            }
            free.addFirst(inst);
        }
    }

    /** Multiply-adds of each step, in the order of {@link #stepNames()} (0 for steps that do none). */
    public long[] stepMultiplyAdds() {
        return steps.stream().mapToLong(Step::multiplyAdds).toArray();
    }

    /** Names of the nodes run by each step, in order (for profiles). */
    public List<String> stepNames() {
        List<String> names = new ArrayList<>();
        for (Step s : steps) {
            names.add(s.node.opType() + " " + s.node.name());
        }
        return names;
    }

    private Instance newInstance() {
        synchronized (all) {
            if (closed) {
                throw new IllegalStateException("The model is closed");
            }
            Instance inst;
            try {
                inst = new Instance();
            } catch (OutOfMemoryError e) {
                throw new ModelException("Not enough memory for the model's arena of " + arenaBytes + " bytes");
            }
            all.add(inst);
            return inst;
        }
    }

    /** One arena with the tensors over it, used by one run at a time. */
    private final class Instance {
        final Arena arena = Arena.ofShared();
        final Tensor[] values = new Tensor[slots.size()];
        final Tensor[][] stepIn = new Tensor[steps.size()][];
        final Tensor[][] stepOut = new Tensor[steps.size()][];

        Instance() {
            MemorySegment seg = arena.allocate(Math.max(arenaBytes, 1), ALIGNMENT);
            for (int s = 0; s < slots.size(); s++) {
                PlannedValue sl = slots.get(s);
                if (sl.placement() == Placement.ARENA) {
                    values[s] = Tensor.wrap(seg, sl.offset / sl.dtype.byteSize(), sl.dtype, sl.shape);
                } else if (sl.placement() == Placement.CONST) {
                    values[s] = sl.constant;
                }
            }
            for (int i = 0; i < steps.size(); i++) {
                stepIn[i] = new Tensor[steps.get(i).in.length];
                stepOut[i] = new Tensor[steps.get(i).out.length];
            }
        }
    }

    /** Frees the arenas and folded constants. Runs must have finished. Idempotent. */
    @Override
    public void close() {
        synchronized (all) {
            if (closed) {
                return;
            }
            closed = true;
            for (Instance i : all) {
                i.arena.close();
            }
            all.clear();
        }
        for (Tensor t : owned) {
            t.close();
        }
    }
}
