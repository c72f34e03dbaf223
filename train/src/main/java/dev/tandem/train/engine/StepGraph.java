package dev.tandem.train.engine;

import dev.tandem.runtime.autodiff.Gradients;
import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.graph.passes.BatchNormReluFusion;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.nn.Loss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.TraceMode;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import dev.tandem.train.nn.Var;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.OptimizerStep;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One training step of a module for one batch size, as one planned graph: forward in training mode, the loss, the
 * number of correct top-1 predictions, the backward pass (runtime autodiff) and the optimizer's in-place update.
 * {@link #run} binds the module's parameters and buffers, the optimizer state of an {@link OptimizerState}, and
 * the batch; it allocates nothing but the three scalars it returns.
 *
 * <p>With a {@link DeviceSession} the step runs on that device: the module's parameters and buffers and the
 * optimizer state are {@linkplain DeviceSession#attach attached} (they stay on the device and the host tensors are
 * stale until {@link DeviceSession#download()}); only the batch and the step's scalars travel each run. Profiling
 * ({@link #startProfile}) times CPU runs only.
 *
 * <p>Not thread-safe: one step at a time (the parameters change in place).
 */
public final class StepGraph implements AutoCloseable {
    /** What one step reports. */
    public record Result(double loss, long correct, double gradNorm) {
    }

    /** Whether CPU steps fuse batch norm and Relu (system property {@code tandem.train.bnReluFusion}, default true). */
    static final boolean BN_RELU_FUSION = !"false".equalsIgnoreCase(System.getProperty("tandem.train.bnReluFusion"));

    private final Traced traced;
    private final ExecutionPlan plan;
    private final OptimizerStep step;
    private final int batch;
    private final Tensor images;
    private final Tensor labels;
    private final Tensor lr = Tensor.allocate(DType.FLOAT32, Shape.scalar());
    private final Tensor stepCount = Tensor.allocate(DType.INT64, Shape.scalar());
    private final Tensor seed = Tensor.allocate(DType.INT64, Shape.scalar());
    private final Tensor momentumTensor;
    private final double configuredMomentum;
    private final Tensor[] arguments;
    private final DevicePlan devicePlan;
    private long[] stepNanos;
    private int profiledRuns;

    /**
     * Traces and plans the step.
     *
     * @param inputShape one sample's shape (C, H, W)
     */
    public StepGraph(Module module, int batch, int[] inputShape, Loss loss, Optimizer optimizer,
                     OptimizerState state, ThreadPool pool) {
        this(module, batch, inputShape, loss, optimizer, state, pool, null);
    }

    /**
     * Traces and plans the step, to run on {@code device} (null: the CPU). The module's parameters and buffers and
     * the optimizer state it binds are attached to the device (a no-op for those already attached: their device
     * copies are kept, so a second step graph of another batch size continues from the device values).
     *
     * @param inputShape one sample's shape (C, H, W)
     * @param device the device session to run on, or null for the CPU; not owned (the caller closes it)
     */
    public StepGraph(Module module, int batch, int[] inputShape, Loss loss, Optimizer optimizer,
                     OptimizerState state, ThreadPool pool, DeviceSession device) {
        this(module, batch, inputShape, loss, optimizer, state, pool, device, BN_RELU_FUSION);
    }

    /** As above; {@code fuseBnRelu}: whether a CPU step fuses batch norm and Relu (tests compare both). */
    StepGraph(Module module, int batch, int[] inputShape, Loss loss, Optimizer optimizer, OptimizerState state,
              ThreadPool pool, DeviceSession device, boolean fuseBnRelu) {
        this.batch = batch;
        int[] dims = new int[inputShape.length + 1];
        dims[0] = batch;
        System.arraycopy(inputShape, 0, dims, 1, inputShape.length);
        Made made = new Made();
        traced = module.trace(TraceMode.TRAIN, dims);
        try {
            Tracer tr = traced.tracer();
            Var logits = traced.output();
            traced.graph().outputs().clear();
            Var target = loss.declareTarget(logits, "labels");
            Var l = loss.emit(logits, target);
            tr.output(l);
            tr.output(correct(tr, logits, target));
            List<Value> params = new ArrayList<>();
            for (Traced.Binding b : traced.parameters()) {
                params.add(b.var().value());
            }
            Map<Value, Value> grads = Gradients.standard().build(traced.graph(), l.value(), params);
            List<Value> ordered = new ArrayList<>();
            for (Traced.Binding b : traced.parameters()) {
                Value g = grads.get(b.var().value());
                if (g == null) {
                    throw new IllegalArgumentException("Parameter " + b.name() + " does not affect the loss");
                }
                ordered.add(g);
            }
            step = optimizer.emitStep(tr, traced.parameters(), ordered);
            images = made.add(Tensor.allocate(DType.FLOAT32, Shape.of(dims)));
            labels = made.add(Tensor.allocate(target.dtype(), target.shape()));
            Map<String, Tensor> others = new HashMap<>();
            others.put("input", images);
            others.put("labels", labels);
            others.put(OptimizerStep.LR_INPUT, lr);
            others.put(OptimizerStep.STEP_INPUT, stepCount);
            others.put(Tracer.SEED_INPUT, seed);
            if (step.momentum() != null) {
                momentumTensor = made.add(Tensor.allocate(DType.FLOAT32, Shape.scalar()));
                others.put(OptimizerStep.MOMENTUM_INPUT, momentumTensor);
            } else {
                momentumTensor = null;
            }
            configuredMomentum = optimizer instanceof dev.tandem.train.optim.Sgd sgd ? sgd.momentum() : 0;
            List<Tensor> resident = new ArrayList<>();
            for (OptimizerStep.State s : step.state()) {
                Tensor t = state.tensor(s.name(), s.shape());
                others.put(s.var().name(), t);
                resident.add(t);
            }
            arguments = traced.arguments(others);
            if (device == null && fuseBnRelu) {
                // CPU only: the CUDA backend runs the unfused ops.
                BatchNormReluFusion.fuse(traced.graph());
            }
            DType[] types = new DType[arguments.length];
            Shape[] shapes = new Shape[arguments.length];
            for (int i = 0; i < arguments.length; i++) {
                types[i] = arguments[i].dtype();
                shapes[i] = arguments[i].shape();
            }
            plan = ExecutionPlan.build(traced.graph(), OpRegistry.standard(), new Sgemm(pool),
                    new GreedyBySizePlanner(), types, shapes, null);
            try {
                devicePlan = device == null ? null : load(device, traced, resident, plan);
            } catch (RuntimeException e) {
                plan.close();
                throw e;
            }
        } catch (RuntimeException e) {
            traced.close();
            // The scalars (and the batch tensors when they were made) hold native memory of their own.
            made.closeAll();
            lr.close();
            stepCount.close();
            seed.close();
            throw e;
        }
    }

    /**
     * Attaches the module's parameters and buffers bound by {@code traced} and the {@code others} that stay on the
     * device, then loads {@code plan} on it.
     */
    static DevicePlan load(DeviceSession device, Traced traced, List<Tensor> others, ExecutionPlan plan) {
        for (Traced.Binding b : traced.parameters()) {
            device.attach(b.parameter().tensor());
        }
        for (Traced.Binding b : traced.buffers()) {
            device.attach(b.parameter().tensor());
        }
        for (Tensor t : others) {
            device.attach(t);
        }
        return device.load(plan);
    }

    /** {@code Σ [argmax(logits) == target]} as an int64 scalar. */
    private static Var correct(Tracer tr, Var logits, Var target) {
        Var am = tr.emit("ArgMax", List.of(logits), Map.of("axis", Attribute.of("axis", 1L), "keepdims",
                Attribute.of("keepdims", 0L)), DType.INT64, Shape.of(logits.dim(0)));
        Var eq = tr.emit("Equal", List.of(am, target), Map.of(), DType.BOOL, Shape.of(logits.dim(0)));
        Var n = tr.emit("Cast", List.of(eq), Map.of("to", Attribute.of("to", (long) DType.INT64.onnxCode())),
                DType.INT64, Shape.of(logits.dim(0)));
        return tr.emit("ReduceSum", List.of(n), Map.of("keepdims", Attribute.of("keepdims", 0L)), DType.INT64,
                Shape.scalar());
    }

    /** How many nodes of the step's graph are of {@code opType} (any domain). */
    long count(String opType) {
        return traced.graph().nodes().stream().filter(n -> n.opType().equals(opType)).count();
    }

    public int batchSize() {
        return batch;
    }

    /** Bytes of the arena one step uses. */
    public long arenaBytes() {
        return plan.arenaBytes();
    }

    /** Whether the step runs on a device session (not the CPU). */
    public boolean onDevice() {
        return devicePlan != null;
    }

    /**
     * Runs one step on {@code batch} samples ({@code data}: N×C×H×W floats, {@code targets}: N labels).
     *
     * @param stepNumber 1-based optimizer step (Adam's bias correction)
     * @param dropoutSeed the seed of this step's dropout masks
     */
    public Result run(float[] data, long[] targets, double learningRate, long stepNumber, long dropoutSeed) {
        return run(data, targets, learningRate, Double.NaN, stepNumber, dropoutSeed);
    }

    /**
     * Like {@link #run(float[], long[], double, long, long)} with this step's SGD momentum (a schedule's; NaN: the
     * optimizer's own).
     */
    public Result run(float[] data, long[] targets, double learningRate, double momentumNow, long stepNumber,
                      long dropoutSeed) {
        stage(data, targets, learningRate, momentumNow, stepNumber, dropoutSeed);
        Tensor[] out = devicePlan != null ? devicePlan.run(arguments) : plan.run(arguments, stepNanos);
        if (stepNanos != null && devicePlan == null) {
            profiledRuns++;
        }
        return result(out);
    }

    /** Tensors a constructor made so far, closed if it fails. */
    private static final class Made {
        private final List<Tensor> tensors = new ArrayList<>();

        Tensor add(Tensor t) {
            tensors.add(t);
            return t;
        }

        void closeAll() {
            tensors.forEach(Tensor::close);
        }
    }

    /** A step submitted to a device and not yet collected ({@link #submit}). */
    public interface Pending {
        /** Waits for the step; throws as {@link #run} does. Call once, in submission order. */
        Result result();
    }

    /**
     * Like {@link #run(float[], long[], double, double, long, long)}, but on a device returns as soon as the step is
     * queued, so that the next batch can be prepared while it computes (on the CPU it runs at once). At most two
     * steps may be outstanding: collect the older one's {@link Pending#result} before submitting a third.
     */
    public Pending submit(float[] data, long[] targets, double learningRate, double momentumNow, long stepNumber,
                          long dropoutSeed) {
        if (devicePlan == null) {
            Result r = run(data, targets, learningRate, momentumNow, stepNumber, dropoutSeed);
            return () -> r;
        }
        stage(data, targets, learningRate, momentumNow, stepNumber, dropoutSeed);
        dev.tandem.runtime.backend.DevicePlan.Pending p = devicePlan.submit(arguments);
        return () -> result(p.outputs());
    }

    private void stage(float[] data, long[] targets, double learningRate, double momentumNow, long stepNumber,
                       long dropoutSeed) {
        if (momentumTensor != null) {
            momentumTensor.copyFrom(new float[] {(float) (Double.isNaN(momentumNow) ? configuredMomentum
                    : momentumNow)});
        }
        Batches.copy(data, images);
        Batches.copy(targets, labels);
        lr.copyFrom(new float[] {(float) learningRate});
        dev.tandem.runtime.ops.Elements.setLong(stepCount, 0, stepNumber);
        dev.tandem.runtime.ops.Elements.setLong(seed, 0, dropoutSeed);
    }

    private static Result result(Tensor[] out) {
        try {
            return new Result(dev.tandem.runtime.ops.Elements.getDouble(out[0], 0),
                    dev.tandem.runtime.ops.Elements.getLong(out[1], 0),
                    dev.tandem.runtime.ops.Elements.getDouble(out[2], 0));
        } finally {
            for (Tensor t : out) {
                t.close();
            }
        }
    }

    /**
     * Starts (or restarts) timing every step of the plan: from now on {@link #run} adds each node's wall time to
     * a profile that {@link #profile} reports. CPU only: a step on a device session is not profiled.
     *
     * @throws UnsupportedOperationException when the step runs on a device session
     */
    public void startProfile() {
        if (devicePlan != null) {
            throw new UnsupportedOperationException("Profiling times the CPU plan's nodes; this step runs on a "
                    + "device");
        }
        stepNanos = new long[plan.stepCount()];
        profiledRuns = 0;
    }

    /**
     * The profile since {@link #startProfile}: milliseconds per training step by op type (highest first, with the
     * share of the total) and the {@code top} most expensive nodes; empty when profiling is off or nothing ran.
     */
    public String profile(int top) {
        if (stepNanos == null || profiledRuns == 0) {
            return "";
        }
        List<String> names = plan.stepNames();
        Map<String, Long> byType = new HashMap<>();
        long total = 0;
        for (int i = 0; i < stepNanos.length; i++) {
            String type = names.get(i).substring(0, names.get(i).indexOf(' '));
            byType.merge(type, stepNanos[i], Long::sum);
            total += stepNanos[i];
        }
        double runs = profiledRuns;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("profile over %d steps: %.2f ms per step in nodes%n", profiledRuns,
                total / runs / 1e6));
        List<Map.Entry<String, Long>> types = new ArrayList<>(byType.entrySet());
        types.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        for (Map.Entry<String, Long> e : types) {
            sb.append(String.format("  %-26s %8.2f ms %5.1f%%%n", e.getKey(), e.getValue() / runs / 1e6,
                    100.0 * e.getValue() / Math.max(1, total)));
        }
        Integer[] order = new Integer[stepNanos.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Long.compare(stepNanos[b], stepNanos[a]));
        sb.append(String.format("top %d nodes%n", Math.min(top, order.length)));
        for (int i = 0; i < Math.min(top, order.length); i++) {
            sb.append(String.format("  %-60s %8.2f ms%n", names.get(order[i]), stepNanos[order[i]] / runs / 1e6));
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (devicePlan != null) {
            devicePlan.close();
        }
        plan.close();
        traced.close();
        images.close();
        labels.close();
        lr.close();
        stepCount.close();
        seed.close();
        if (momentumTensor != null) {
            momentumTensor.close();
        }
    }
}
