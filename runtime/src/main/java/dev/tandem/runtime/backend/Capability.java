package dev.tandem.runtime.backend;

/** What a backend can execute today. A probe that finds a device lists the capabilities it offers. */
public enum Capability {
    /** Runs the planned training step (forward, backward, optimizer) of {@code train}. */
    TRAINING,
    /** Runs inference plans of the runtime. */
    INFERENCE
}
