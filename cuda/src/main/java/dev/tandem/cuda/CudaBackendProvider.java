package dev.tandem.cuda;

import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;

/**
 * The CUDA backend as the runtime's {@link java.util.ServiceLoader} sees it ({@code META-INF/services}). Creating it
 * loads nothing native; {@link #probe} finds the libraries, loads the driver and asks for a device (see
 * {@link CudaProbe}). Stateless.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "cuda";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "NVIDIA GPUs through CUDA (driver, cuBLAS, cuDNN, NVRTC) via the FFM API";
    }

    @Override
    public BackendProbe probe(BackendEnvironment environment) {
        return CudaProbe.probe(new CudaLibraries(new LibrarySearch(environment)));
    }

    /** Opens device 0 as a {@link dev.tandem.cuda.exec.CudaSession} (see there for its settings). */
    @Override
    public dev.tandem.runtime.backend.DeviceSession open(BackendEnvironment environment) {
        return dev.tandem.cuda.exec.CudaSession.open(environment);
    }
}
