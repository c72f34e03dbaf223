package dev.tandem.runtime.backend;

/**
 * A compute backend other than the built-in CPU one (e.g. CUDA), found at run time through
 * {@link java.util.ServiceLoader} so that the runtime and the trainer never name its classes.
 *
 * <p>Contract: constructing a provider and calling {@link #name()} or {@link #description()} must be cheap and
 * must not load any native library; only {@link #probe(BackendEnvironment)} may do that. A CPU-only run
 * never calls {@code probe}. Implementations are stateless and thread-safe.
 */
public interface BackendProvider {
    /** The name a user selects it by, lower case, e.g. {@code cuda}. */
    String name();

    /** One line for people: what it runs on, e.g. "NVIDIA GPUs through CUDA (driver, cuBLAS, cuDNN, NVRTC)". */
    String description();

    /**
     * Looks for a usable device: finds and loads the native libraries the backend needs and asks them for a
     * device. Never throws for a missing library, driver or device: that is an {@link BackendProbe#unavailable
     * unavailable} answer whose reason names what is missing and how to fix it.
     */
    BackendProbe probe(BackendEnvironment environment);

    /**
     * Opens the first usable device for running plans. Only called after {@link #probe} reported the capability
     * that the caller needs.
     *
     * @throws UnsupportedOperationException when this backend cannot run plans (the default)
     * @throws RuntimeException from the backend when the device fails to open (its message says why)
     */
    default DeviceSession open(BackendEnvironment environment) {
        throw new UnsupportedOperationException("The " + name() + " backend cannot run plans");
    }
}
