/**
 * The small interface through which backends other than the CPU (CUDA) plug in: {@link
 * dev.tandem.runtime.backend.BackendProvider} found by {@link java.util.ServiceLoader}, answering a {@link
 * dev.tandem.runtime.backend.BackendProbe} that says whether a device is usable, which one, and what it runs.
 * Nothing here loads native code; only a provider's probe may.
 */
package dev.tandem.runtime.backend;
