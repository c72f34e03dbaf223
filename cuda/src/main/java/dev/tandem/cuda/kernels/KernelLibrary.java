package dev.tandem.cuda.kernels;

import dev.tandem.cuda.driver.CudaDevice;
import dev.tandem.cuda.driver.CudaFunction;
import dev.tandem.cuda.driver.CudaModule;
import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.cuda.ffm.NativeResource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tandem's kernels loaded on one device: every source compiled (or taken from the cache) for the device's
 * architecture and loaded as a module. {@link #launch} checks the arguments against the kernel's signature first.
 * Closing unloads the modules.
 */
public final class KernelLibrary extends NativeResource {
    private final KernelSources sources;
    private final List<CudaModule> modules = new ArrayList<>();
    private final Map<String, CudaModule> moduleOf = new HashMap<>();
    private final int fromCache;

    /** Compiles (or reads from the cache) and loads every source for {@code device}. */
    public KernelLibrary(CudaDevice device, KernelSources sources, KernelCompiler compiler) {
        this.sources = sources;
        int cached = 0;
        try {
            for (KernelSource s : sources.all()) {
                KernelCompiler.Compiled c = compiler.ptx(s, device.virtualArch());
                cached += c.fromCache() ? 1 : 0;
                CudaModule m = device.loadModule(c.ptx(), s.name());
                modules.add(m);
                for (KernelSignature k : s.kernels()) {
                    moduleOf.put(k.name(), m);
                }
            }
        } catch (RuntimeException e) {
            modules.forEach(CudaModule::close);
            throw e;
        }
        this.fromCache = cached;
    }

    /** How many sources came from the PTX cache (the rest were compiled). */
    public int sourcesFromCache() {
        return fromCache;
    }

    /** The sources loaded. */
    public KernelSources sources() {
        return sources;
    }

    /** Launches {@code kernel} after checking {@code args} against its signature. */
    public void launch(String kernel, Dim3 grid, Dim3 block, CudaStream stream, KernelArgs args) {
        checkOpen();
        sources.signature(kernel).check(args.kinds());
        CudaFunction f = moduleOf.get(kernel).function(kernel);
        f.launch(grid, block, 0, stream, args);
    }

    @Override
    protected String describe() {
        return "Tandem kernel library (" + modules.size() + " modules)";
    }

    @Override
    protected void release() {
        modules.forEach(CudaModule::close);
    }
}
