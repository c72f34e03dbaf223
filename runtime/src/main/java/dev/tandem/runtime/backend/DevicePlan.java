package dev.tandem.runtime.backend;

import dev.tandem.runtime.tensor.Tensor;

/**
 * An {@link dev.tandem.runtime.plan.ExecutionPlan} prepared for a device by {@link DeviceSession#load}. A run takes
 * the same inputs as the plan: inputs attached to the session are bound to their device copies (and updated there
 * when the plan writes them); all others are copied to the device for this run, and written back when the plan
 * changes them in place. Not thread-safe.
 */
public interface DevicePlan extends AutoCloseable {
    /**
     * Runs the plan and waits for it.
     *
     * @return the graph outputs as new host tensors, which the caller closes
     * @throws dev.tandem.runtime.InvalidInputException when an input's type or shape differs from the plan's
     */
    Tensor[] run(Tensor[] inputs);

    /** A run in flight ({@link #submit}). */
    interface Pending {
        /**
         * Waits for the run and returns its outputs (new host tensors, which the caller closes); the errors are
         * those of {@link #run}. Call once, in submission order.
         */
        Tensor[] outputs();
    }

    /**
     * Starts a run and returns without waiting for the device, so that the caller can prepare the next run's inputs
     * while this one computes. The inputs may be changed as soon as this returns. Runs execute in submission order;
     * at most two may be outstanding (collect the older one's {@link Pending#outputs} before submitting a third),
     * and {@link #run} may not be called while any is. This default runs at once.
     */
    default Pending submit(Tensor[] inputs) {
        Tensor[] out = run(inputs);
        return () -> out;
    }

    /** Device bytes this plan holds (its arena, workspaces, staging). */
    long deviceBytes();

    @Override
    void close();
}
