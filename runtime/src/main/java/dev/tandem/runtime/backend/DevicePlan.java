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

    /** Device bytes this plan holds (its arena, workspaces, staging). */
    long deviceBytes();

    @Override
    void close();
}
