package dev.tandem.train.engine;

import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.TraceMode;
import dev.tandem.train.nn.Traced;
import java.util.List;
import java.util.Map;

/**
 * The module in evaluation mode for one batch size, planned once: batch norm uses the running statistics and
 * dropout is the identity. The module's current parameter tensors are bound at every run, so it always evaluates
 * the latest weights. With a {@link DeviceSession} it runs on that device, binding the device copies of the
 * module's parameters and buffers (attached by a {@link StepGraph} on the same session, or here if not yet: attach
 * is idempotent), so it evaluates the latest device weights without a download. Not thread-safe.
 */
public final class EvalGraph implements AutoCloseable {
    private final Traced traced;
    private final ExecutionPlan plan;
    private final Tensor images;
    private final Tensor[] arguments;
    private final DevicePlan devicePlan;
    private final int classes;

    public EvalGraph(Module module, int batch, int[] inputShape, ThreadPool pool) {
        this(module, batch, inputShape, pool, null);
    }

    /** As {@link #EvalGraph(Module, int, int[], ThreadPool)}, on {@code device} (null: the CPU; not owned). */
    public EvalGraph(Module module, int batch, int[] inputShape, ThreadPool pool, DeviceSession device) {
        int[] dims = new int[inputShape.length + 1];
        dims[0] = batch;
        System.arraycopy(inputShape, 0, dims, 1, inputShape.length);
        traced = module.trace(TraceMode.EVAL, dims);
        try {
            images = Tensor.allocate(DType.FLOAT32, Shape.of(dims));
            arguments = traced.arguments(Map.of("input", images));
            DType[] types = new DType[arguments.length];
            Shape[] shapes = new Shape[arguments.length];
            for (int i = 0; i < arguments.length; i++) {
                types[i] = arguments[i].dtype();
                shapes[i] = arguments[i].shape();
            }
            plan = ExecutionPlan.build(traced.graph(), OpRegistry.standard(), new Sgemm(pool),
                    new GreedyBySizePlanner(), types, shapes, null);
            Shape out = plan.outputs().get(0).shape();
            if (out.rank() != 2 || out.dim(0) != batch) {
                throw new IllegalArgumentException("The module's output must be [batch, classes]; got " + out);
            }
            classes = out.dim(1);
            try {
                devicePlan = device == null ? null : StepGraph.load(device, traced, List.of(), plan);
            } catch (RuntimeException e) {
                plan.close();
                throw e;
            }
        } catch (RuntimeException e) {
            traced.close();
            throw e;
        }
    }

    public int classes() {
        return classes;
    }

    /** The logits of a batch (N×C×H×W floats, already normalised), as N×classes floats. */
    public float[] logits(float[] data) {
        Batches.copy(data, images);
        Tensor[] out = devicePlan != null ? devicePlan.run(arguments) : plan.run(arguments);
        try {
            return out[0].toFloatArray();
        } finally {
            for (Tensor t : out) {
                t.close();
            }
        }
    }

    @Override
    public void close() {
        if (devicePlan != null) {
            devicePlan.close();
        }
        plan.close();
        traced.close();
        images.close();
    }
}
