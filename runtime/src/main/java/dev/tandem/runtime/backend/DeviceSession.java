package dev.tandem.runtime.backend;

import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;

/**
 * One device (a GPU) opened for running planned graphs: {@link BackendProvider#open} returns it.
 *
 * <p>Host tensors that stay on the device between runs (a model's parameters, batch-norm statistics, optimizer
 * state) are {@link #attach attached} once: the device keeps its own copy, and every plan loaded here that takes
 * such a tensor as an input reads and writes that copy instead of copying it each run. The host tensor is then
 * stale until {@link #download()} copies the device values back; after changing a host tensor (loading a
 * checkpoint), {@link #upload()} sends it again.
 *
 * <p>Not thread-safe: one caller at a time (a trainer's loop). Closing frees all device memory of the session and
 * of its plans.
 */
public interface DeviceSession extends AutoCloseable {
    /** The device in one line, e.g. "NVIDIA H100 80GB HBM3 (compute 9.0, 79.1 GiB), CUDA 13.0". */
    String summary();

    /** Gives {@code host} a device copy holding its current value; plans loaded later bind it. Idempotent. */
    void attach(Tensor host);

    /** Copies every attached tensor's device value into its host tensor (waits for the device). */
    void download();

    /** Copies every attached host tensor to its device copy (after the host values changed). */
    void upload();

    /**
     * Prepares {@code plan} for this device (the plan stays owned by the caller and must outlive the result).
     *
     * @throws dev.tandem.runtime.UnsupportedModelException naming every op the device cannot run, all at once
     */
    DevicePlan load(ExecutionPlan plan);

    /** Device bytes in use by this session and its plans. */
    long deviceBytes();

    @Override
    void close();
}
