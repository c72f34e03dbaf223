package dev.tandem.cuda.kernels;

/**
 * PTX for a kernel source: from the {@link PtxCache} when it has the entry, else compiled by the {@link
 * PtxCompiler} and stored. Thread-safe as its parts are.
 */
public final class KernelCompiler {
    private final PtxCompiler compiler;
    private final PtxCache cache;

    /** Compiles with {@code compiler}, caching in {@code cache}. */
    public KernelCompiler(PtxCompiler compiler, PtxCache cache) {
        this.compiler = compiler;
        this.cache = cache;
    }

    /** What happened to one request, for reports. */
    public record Compiled(byte[] ptx, boolean fromCache) {
    }

    /** The PTX of {@code source} for {@code arch} (e.g. {@code compute_90}). */
    public Compiled ptx(KernelSource source, String arch) {
        var cached = cache.get(source, arch, compiler.version());
        if (cached.isPresent()) {
            return new Compiled(cached.get(), true);
        }
        byte[] ptx = compiler.compile(source, arch);
        cache.put(source, arch, compiler.version(), ptx);
        return new Compiled(ptx, false);
    }
}
