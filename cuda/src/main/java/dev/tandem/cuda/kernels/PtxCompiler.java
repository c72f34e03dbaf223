package dev.tandem.cuda.kernels;

/**
 * Turns a {@link KernelSource} into PTX for a virtual architecture. The GPU backend uses NVRTC
 * ({@link dev.tandem.cuda.nvrtc.NvrtcPtxCompiler}); tests may use {@code nvcc} or a fake.
 */
public interface PtxCompiler {
    /**
     * PTX text for {@code arch} (e.g. {@code compute_90}).
     *
     * @throws dev.tandem.cuda.CudaException when the source does not compile (with the compiler's log)
     */
    byte[] compile(KernelSource source, String arch);

    /** Identifies the compiler and its version for the cache key, e.g. {@code nvrtc-13.0}. */
    String version();
}
