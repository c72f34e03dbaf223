package dev.tandem.cuda.exec;

import dev.tandem.cuda.driver.CudaEvent;
import dev.tandem.cuda.driver.CudaGraph;
import dev.tandem.cuda.driver.CudaGraphExec;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.cuda.driver.PinnedBuffer;
import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.ExecutionPlan.PlannedStep;
import dev.tandem.runtime.plan.ExecutionPlan.PlannedValue;
import dev.tandem.runtime.plan.ExecutionPlan.Placement;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An {@link ExecutionPlan} on a CUDA device: the plan's arena as one device allocation with the CPU plan's offsets
 * and aliases, its folded constants uploaded once, and one {@link GpuOps} launch sequence per step. Inputs attached
 * to the session are bound to their device copies; the others get a device buffer of their own, filled each run
 * from pinned staging memory. The first run executes the steps one by one; the second captures them as a CUDA
 * graph, which later runs replay (one launch per step instead of one call per kernel). A change of bindings
 * (another attached tensor in an input's place) rebuilds the launches.
 */
final class CudaPlan implements DevicePlan {
    private final CudaSession session;
    private final ExecutionPlan plan;
    private final List<PlannedValue> values;
    private final List<PlannedStep> steps;
    private final int[] outputs;
    private final int inputCount;
    private final int[] inputValue;
    private final DeviceBuffer arena;
    private final DeviceBuffer[] constants;
    private final DeviceBuffer[] inputBuffers;
    private final long[] stagingOffset;
    /** Per-compile scratch (workspaces, partial sums): freed when the bindings change. */
    private final List<DeviceBuffer> scratch = new ArrayList<>();
    private final long[] outputOffset;
    private final PinnedBuffer outputStaging;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final Arena argArena = Arena.ofShared();
    private DeviceBuffer[] bound;
    private List<Runnable> launches;
    private GpuOps.Compiled compiled;
    private CudaGraphExec graph;
    private int eagerRuns;
    private boolean graphFailed;
    private boolean closed;
    /** {@code -Dtandem.cuda.profile=true}: each plan prints where its runs' time went when it closes. */
    private static final boolean PROFILE = System.getProperty("tandem.cuda.profile", "false").matches("true|steps");
    /** {@code -Dtandem.cuda.profile=steps}: runs launch by launch, each timed on the device (slower; no graph). */
    private static final boolean PROFILE_STEPS = System.getProperty("tandem.cuda.profile", "").equals("steps");
    private java.util.Map<String, Long> launchNanos;
    /** How long the profile's spin kernel holds the stream: longer than queueing one run's launches takes. */
    private static final long SPIN_NANOS = 25_000_000L;
    private CudaEvent[] profileEvents;
    private KernelArgs profileSpin;
    private int profileUncovered;
    private long runs;
    private final long[] nanos = new long[4];

    CudaPlan(CudaSession session, ExecutionPlan plan) {
        this.session = session;
        this.plan = plan;
        this.values = plan.values();
        this.steps = plan.plannedSteps();
        this.outputs = plan.outputValues();
        List<String> unsupported = new ArrayList<>();
        for (PlannedStep st : steps) {
            String why = GpuOps.whyUnsupported(st, values);
            if (why != null) {
                unsupported.add("'" + st.node().name() + "' (" + st.node().opType() + "): " + why);
            }
        }
        if (!unsupported.isEmpty()) {
            throw new UnsupportedModelException("The CUDA backend cannot run " + unsupported.size() + " step"
                    + (unsupported.size() == 1 ? "" : "s") + " of this plan: " + String.join("; ", unsupported));
        }
        int maxInput = -1;
        for (PlannedValue v : values) {
            if (v.placement() == Placement.INPUT) {
                maxInput = Math.max(maxInput, v.input());
            }
        }
        inputCount = Math.max(plan.inputCount(), maxInput + 1);
        inputValue = new int[inputCount];
        Arrays.fill(inputValue, -1);
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i).placement() == Placement.INPUT) {
                inputValue[values.get(i).input()] = i;
            }
        }
        constants = new DeviceBuffer[values.size()];
        inputBuffers = new DeviceBuffer[inputCount];
        stagingOffset = new long[inputCount];
        try {
            arena = plan.arenaBytes() > 0 ? own(session.device().allocate(plan.arenaBytes())) : null;
            for (int i = 0; i < values.size(); i++) {
                PlannedValue v = values.get(i);
                if (v.placement() == Placement.CONST) {
                    DeviceBuffer b = own(session.device().allocate(Math.max(4, bytes(v))));
                    if (bytes(v) > 0) {
                        Tensor c = v.constant().contiguous();
                        b.copyFrom(c.segment().asSlice(c.offset() * c.dtype().byteSize(), bytes(v)));
                        if (c != v.constant()) {
                            c.close();
                        }
                    }
                    constants[i] = b;
                }
            }
            outputOffset = new long[outputs.length];
            long out = 0;
            for (int o = 0; o < outputs.length; o++) {
                outputOffset[o] = out;
                out += align(bytes(values.get(outputs[o])));
            }
            outputStaging = out > 0 ? session.device().allocatePinned(out) : null;
        } catch (RuntimeException e) {
            owned.forEach(DeviceBuffer::close);
            argArena.close();
            throw e;
        }
    }

    private static long align(long n) {
        return (n + 255) & ~255L;
    }

    static long bytes(PlannedValue v) {
        return v.shape().size() * v.dtype().byteSize();
    }

    DeviceBuffer own(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    /** A device buffer for a step's scratch under the current bindings, at least 4 bytes. */
    DeviceBuffer scratch(long bytes) {
        DeviceBuffer b = session.device().allocate(Math.max(4, (bytes + 3) / 4 * 4));
        scratch.add(b);
        return b;
    }

    Arena argArena() {
        return argArena;
    }

    CudaSession session() {
        return session;
    }

    /** The device bytes of value {@code v} (as bound now), as a view. */
    DeviceBuffer buffer(int v) {
        PlannedValue pv = values.get(v);
        long n = Math.max(4, bytes(pv));
        return switch (pv.placement()) {
            case ARENA -> arena.view(pv.offset(), Math.min(n, arena.bytes() - pv.offset()));
            case CONST -> constants[v];
            case INPUT -> bound[pv.input()];
            case ALIAS -> {
                int root = v;
                while (values.get(root).placement() == Placement.ALIAS) {
                    root = values.get(root).aliasOf();
                }
                DeviceBuffer r = buffer(root);
                yield r.bytes() >= n ? r.view(0, n) : r;
            }
        };
    }

    long address(int v) {
        return buffer(v).address();
    }

    @Override
    public Tensor[] run(Tensor[] inputs) {
        if (closed) {
            throw new IllegalStateException("This device plan is closed");
        }
        if (inputs.length != inputCount) {
            throw new InvalidInputException("The plan takes " + inputCount + " inputs; got " + inputs.length);
        }
        long t0 = System.nanoTime();
        if (submitted != collected) {
            throw new IllegalStateException("Collect the outputs of the runs submitted before calling run");
        }
        bind(inputs);
        MemorySegment stage = stagings[0] == null ? null : stagings[0].segment();
        stageInputs(inputs, stagings[0]);
        long t1 = System.nanoTime();
        execute();
        long t2 = System.nanoTime();
        for (int o = 0; o < outputs.length; o++) {
            long n = bytes(values.get(outputs[o]));
            if (n > 0) {
                session.device().driver().memcpyDtoHAsync(outputStaging.segment().asSlice(outputOffset[o], n),
                        address(outputs[o]), n, session.stream().handle());
            }
        }
        for (int in : compiled.writtenInputs()) {
            long n = bytes(values.get(inputValue[in]));
            if (!attached(in) && n > 0) {
                MemorySegment dst = stage.asSlice(stagingOffset[in], n);
                session.device().driver().memcpyDtoHAsync(dst, bound[in].address(), n, session.stream().handle());
            }
        }
        long t3 = System.nanoTime();
        session.stream().synchronize();
        long t4 = System.nanoTime();
        if (PROFILE) {
            runs++;
            nanos[0] += t1 - t0;
            nanos[1] += t2 - t1 + t3 - t2;
            nanos[2] += t4 - t3;
        }
        for (int in : compiled.writtenInputs()) {
            long n = bytes(values.get(inputValue[in]));
            if (!attached(in) && n > 0) {
                Tensor t = inputs[in];
                t.segment().asSlice(t.offset() * t.dtype().byteSize(), n).copyFrom(stage.asSlice(stagingOffset[in],
                        n));
            }
        }
        return hostOutputs(outputStaging, compiled);
    }

    /** Checks the inputs against the plan and binds them (recompiling the launches when a binding changed). */
    private void bind(Tensor[] inputs) {
        if (closed) {
            throw new IllegalStateException("This device plan is closed");
        }
        if (inputs.length != inputCount) {
            throw new InvalidInputException("The plan takes " + inputCount + " inputs; got " + inputs.length);
        }
        session.device().makeCurrent();
        DeviceBuffer[] binding = new DeviceBuffer[inputCount];
        for (int i = 0; i < inputCount; i++) {
            if (inputValue[i] < 0) {
                continue;
            }
            PlannedValue v = values.get(inputValue[i]);
            Tensor t = inputs[i];
            if (t == null || t.dtype() != v.dtype() || !t.shape().equals(v.shape())) {
                throw new InvalidInputException("Input " + i + " must be " + v.dtype() + v.shape() + "; got "
                        + (t == null ? "nothing" : t.dtype() + "" + t.shape()));
            }
            DeviceBuffer a = session.attachedBuffer(t);
            if (a == null) {
                if (inputBuffers[i] == null) {
                    inputBuffers[i] = own(session.device().allocate(Math.max(4, bytes(v))));
                }
                a = inputBuffers[i];
            }
            binding[i] = a;
        }
        if (bound == null || !Arrays.equals(bound, binding)) {
            rebind(binding, inputs);
        }
        if (compiled.checks() != null) {
            compiled.checks().accept(inputs);
        }
    }

    /** Whether input {@code i} is bound (now) to a session's attached copy rather than to this plan's buffer. */
    private boolean attached(int i) {
        return bound[i] != inputBuffers[i];
    }

    /** Copies the inputs that are not attached into {@code stage} and queues their copies to the device. */
    private void stageInputs(Tensor[] inputs, PinnedBuffer stage) {
        for (int i = 0; i < inputCount; i++) {
            if (inputValue[i] < 0 || attached(i)) {
                continue;
            }
            long n = bytes(values.get(inputValue[i]));
            if (n == 0) {
                continue;
            }
            Tensor t = inputs[i].contiguous();
            MemorySegment dst = stage.segment().asSlice(stagingOffset[i], n);
            dst.copyFrom(t.segment().asSlice(t.offset() * t.dtype().byteSize(), n));
            if (t != inputs[i]) {
                t.close();
            }
            session.device().driver().memcpyHtoDAsync(bound[i].address(), dst, n, session.stream().handle());
        }
    }

    // ---- pipelined runs: double-buffered staging, completion by events ----
    private final PinnedBuffer[] stagings = new PinnedBuffer[2];
    private final PinnedBuffer[] outStagings = new PinnedBuffer[2];
    private final dev.tandem.cuda.driver.CudaEvent[] staged = new dev.tandem.cuda.driver.CudaEvent[2];
    private final dev.tandem.cuda.driver.CudaEvent[] done = new dev.tandem.cuda.driver.CudaEvent[2];
    private long submitted;
    private long collected;

    @Override
    public Pending submit(Tensor[] inputs) {
        if (submitted - collected >= 2) {
            throw new IllegalStateException("Two runs are outstanding: collect the older one's outputs first");
        }
        long t0 = System.nanoTime();
        bind(inputs);
        for (int in : compiled.writtenInputs()) {
            if (!attached(in)) {
                // Inputs written in place must come back before the caller reuses them: no overlap possible.
                if (submitted != collected) {
                    throw new IllegalStateException("This plan writes an input in place: collect earlier runs first");
                }
                Tensor[] out = run(inputs);
                return () -> out;
            }
        }
        int j = (int) (submitted & 1);
        if (staged[j] == null) {
            prepareSlot(j);
        } else {
            staged[j].synchronize(); // the copies out of this staging buffer (two runs ago) have been made
        }
        stageInputs(inputs, stagings[j]);
        staged[j].record(session.stream());
        long t1 = System.nanoTime();
        execute();
        for (int o = 0; o < outputs.length; o++) {
            long n = bytes(values.get(outputs[o]));
            if (n > 0) {
                session.device().driver().memcpyDtoHAsync(outStagings[j].segment().asSlice(outputOffset[o], n),
                        address(outputs[o]), n, session.stream().handle());
            }
        }
        done[j].record(session.stream());
        long t2 = System.nanoTime();
        if (PROFILE) {
            nanos[0] += t1 - t0;
            nanos[1] += t2 - t1;
        }
        long seq = submitted++;
        GpuOps.Compiled c = compiled;
        return () -> collect(seq, j, c);
    }

    /** Events and buffers of pipeline slot {@code j}, all made or none. */
    private void prepareSlot(int j) {
        dev.tandem.cuda.driver.CudaEvent a = null, b = null;
        PinnedBuffer st = null, out = null;
        try {
            a = session.device().createEvent(false);
            b = session.device().createEvent(false);
            if (j == 1 && stagings[0] != null) {
                st = session.device().allocatePinned(stagings[0].bytes());
            }
            if (j == 1 && outputStaging != null) {
                out = session.device().allocatePinned(outputStaging.bytes());
            }
        } catch (RuntimeException e) {
            for (AutoCloseable c : new AutoCloseable[] {a, b, st, out}) {
                closeQuietly(c);
            }
            throw e;
        }
        staged[j] = a;
        done[j] = b;
        if (j == 1) {
            stagings[1] = st;
            outStagings[1] = out;
        } else {
            outStagings[0] = outputStaging;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already failing
            }
        }
    }

    private Tensor[] collect(long seq, int j, GpuOps.Compiled c) {
        if (seq != collected) {
            throw new IllegalStateException("Outputs must be collected once each, in submission order");
        }
        long t0 = System.nanoTime();
        done[j].synchronize();
        collected++;
        if (PROFILE) {
            runs++;
            nanos[2] += System.nanoTime() - t0;
        }
        return hostOutputs(outStagings[j], c);
    }

    /** The outputs as new host tensors from {@code stage}, after the optimizer's finiteness checks. */
    private Tensor[] hostOutputs(PinnedBuffer stage, GpuOps.Compiled c) {
        Tensor[] out = new Tensor[outputs.length];
        for (int o = 0; o < outputs.length; o++) {
            PlannedValue v = values.get(outputs[o]);
            out[o] = Tensor.allocate(v.dtype(), v.shape());
            long n = bytes(v);
            if (n > 0) {
                out[o].segment().asSlice(0, n).copyFrom(stage.segment().asSlice(outputOffset[o], n));
            }
        }
        for (GpuOps.NormCheck nc : c.normChecks()) {
            for (int o = 0; o < outputs.length; o++) {
                if (outputs[o] == nc.value()) {
                    double norm = out[o].getDouble();
                    if (!Double.isFinite(norm)) {
                        for (Tensor t : out) {
                            t.close();
                        }
                        throw new ModelException("The gradients are not finite (global norm " + norm + "); the "
                                + "parameters were left unchanged (" + nc.node() + ")");
                    }
                }
            }
        }
        return out;
    }

    private void rebind(DeviceBuffer[] binding, Tensor[] inputs) {
        if (submitted != collected) {
            throw new IllegalStateException("The inputs' bindings changed while runs are outstanding: collect them "
                    + "first");
        }
        session.stream().synchronize();
        if (graph != null) {
            graph.close();
            graph = null;
        }
        scratch.forEach(DeviceBuffer::close);
        scratch.clear();
        bound = null;
        compiled = null;
        launches = null;
        eagerRuns = 0;
        graphFailed = false;
        // Pinned staging only for the inputs that are not attached (a model's parameters stay on the device).
        long stage = 0;
        for (int in = 0; in < inputCount; in++) {
            stagingOffset[in] = stage;
            if (inputValue[in] >= 0 && session.attachedBuffer(inputs[in]) == null) {
                stage += align(bytes(values.get(inputValue[in])));
            }
        }
        for (int j = 0; j < 2; j++) {
            PinnedBuffer old = stagings[j];
            if (old != null && old.bytes() < stage) {
                old.close();
                stagings[j] = null;
            }
        }
        if (stage > 0 && stagings[0] == null) {
            stagings[0] = session.device().allocatePinned(stage);
        }
        if (stage > 0 && staged[1] != null && stagings[1] == null) {
            stagings[1] = session.device().allocatePinned(stage);
        }
        bound = binding;
        try {
            compiled = GpuOps.compile(this, steps, values);
        } catch (RuntimeException e) {
            bound = null; // the next run binds (and compiles) again
            scratch.forEach(DeviceBuffer::close);
            scratch.clear();
            throw e;
        }
        launches = compiled.launches();
    }

    private void execute() {
        if (PROFILE_STEPS && eagerRuns >= 1) {
            if (launchNanos == null) {
                launchNanos = new java.util.LinkedHashMap<>();
            }
            // Device time of each launch, host time excluded: a spin kernel holds the stream while the launches
            // and an event before each are queued behind it, so each pair of events brackets one launch's work
            // alone (cuDNN's calls spend tens of microseconds on the host, more than many kernels take).
            var stream = session.stream();
            if (profileSpin == null) {
                profileSpin = new KernelArgs(argArena()).i64(SPIN_NANOS);
            }
            int needed = launches.size() + 1; // a rebinding can rebuild the launches with another count
            if (profileEvents == null || profileEvents.length < needed) {
                profileEvents = profileEvents == null ? new CudaEvent[needed] : Arrays.copyOf(profileEvents, needed);
            }
            for (int i = 0; i < needed; i++) {
                if (profileEvents[i] == null) {
                    profileEvents[i] = session.device().createEvent(true);
                }
            }
            stream.synchronize();
            session.kernels().launch("tandem_spin", Dim3.of(1), Dim3.of(1), stream, profileSpin);
            long t = System.nanoTime();
            for (int i = 0; i < launches.size(); i++) {
                profileEvents[i].record(stream);
                launches.get(i).run();
            }
            profileEvents[launches.size()].record(stream);
            long queued = System.nanoTime() - t;
            stream.synchronize();
            if (queued > SPIN_NANOS * 8 / 10) {
                profileUncovered++;
            }
            for (int i = 0; i < launches.size(); i++) {
                long ns = Math.round(profileEvents[i + 1].millisSince(profileEvents[i]) * 1e6);
                launchNanos.merge(compiled.labels().get(i), ns, Long::sum);
            }
            eagerRuns++;
            return;
        }
        if (graph != null) {
            graph.launch(session.stream());
            return;
        }
        if (session.graphs() && !graphFailed && eagerRuns >= 1) {
            CudaGraph g = null;
            try {
                session.stream().beginCapture();
                RuntimeException failure = null;
                try {
                    launches.forEach(Runnable::run);
                } catch (RuntimeException e) {
                    failure = e;
                }
                try {
                    g = session.stream().endCapture();
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
                if (failure != null) {
                    throw failure;
                }
                graph = g.instantiate();
            } catch (RuntimeException e) {
                graphFailed = true;
                System.err.println("CUDA graph capture failed; running step by step: " + e.getMessage());
            } finally {
                if (g != null) {
                    g.close();
                }
            }
            if (graph != null) {
                graph.launch(session.stream());
                return;
            }
        }
        launches.forEach(Runnable::run);
        eagerRuns++;
    }


    @Override
    public long deviceBytes() {
        long n = 0;
        for (DeviceBuffer b : owned) {
            n += b.bytes();
        }
        for (DeviceBuffer b : scratch) {
            n += b.bytes();
        }
        return n;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (PROFILE && runs > 0) {
            System.err.printf(java.util.Locale.ROOT, "CUDA plan of %d steps (%d launches%s): %d runs; per run %.1f us "
                    + "binding and staging inputs, %.1f us launching, %.1f us waiting for the device%n", steps.size(),
                    launches == null ? 0 : launches.size(), graph != null ? ", replayed as a CUDA graph" : "", runs,
                    nanos[0] / 1e3 / runs, nanos[1] / 1e3 / runs, nanos[2] / 1e3 / runs);
            if (launchNanos != null) {
                long timed = runs - 1;
                System.err.printf(java.util.Locale.ROOT, "  device time per run, from events: %.1f us%s%n",
                        launchNanos.values().stream().mapToLong(Long::longValue).sum() / 1e3 / timed,
                        profileUncovered == 0 ? "" : " (" + profileUncovered + " runs took longer to queue than the "
                                + "spin kernel held the stream: their times include the host's)");
                java.util.Map<String, Long> byOp = new java.util.TreeMap<>();
                launchNanos.forEach((k, v) -> byOp.merge(k.substring(0, k.indexOf(' ')), v, Long::sum));
                byOp.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
                        .forEach(e -> System.err.printf(java.util.Locale.ROOT, "  %-24s %8.1f us per run%n",
                                e.getKey(), e.getValue() / 1e3 / timed));
                launchNanos.entrySet().stream()
                        .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(24)
                        .forEach(e -> System.err.printf(java.util.Locale.ROOT, "    %-80s %8.1f us%n", e.getKey(),
                                e.getValue() / 1e3 / timed));
            }
        }
        try {
            session.stream().synchronize();
        } catch (RuntimeException ignored) {
            // freeing anyway
        }
        if (graph != null) {
            graph.close();
        }
        owned.forEach(CudaPlan::closeQuietly);
        if (profileEvents != null) {
            Arrays.stream(profileEvents).forEach(CudaPlan::closeQuietly); // (closeQuietly skips nulls)
        }
        scratch.forEach(CudaPlan::closeQuietly);
        for (int j = 0; j < 2; j++) {
            closeQuietly(staged[j]);
            closeQuietly(done[j]);
            closeQuietly(stagings[j]);
        }
        closeQuietly(outStagings[1]);
        closeQuietly(outputStaging);
        argArena.close();
        session.forget(this);
    }
}
