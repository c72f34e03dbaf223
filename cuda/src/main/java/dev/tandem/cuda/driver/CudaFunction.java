package dev.tandem.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * A kernel of a {@link CudaModule}, launched with {@link #launch}. Valid while its module is open; using it after
 * the module closed throws {@link IllegalStateException}.
 */
public final class CudaFunction {
    private final CudaModule module;
    private final String name;
    private final MemorySegment handle;

    CudaFunction(CudaModule module, String name, MemorySegment handle) {
        this.module = module;
        this.name = name;
        this.handle = handle;
    }

    /** Its name in the module. */
    public String name() {
        return name;
    }

    /**
     * Queues the kernel on {@code stream} with a grid of {@code grid} blocks of {@code block} threads.
     *
     * @param sharedBytes dynamic shared memory per block
     * @param args the arguments, in the kernel's parameter order and types
     */
    public void launch(Dim3 grid, Dim3 block, int sharedBytes, CudaStream stream, KernelArgs args) {
        module.checkUsable();
        module.driver().launchKernel(handle, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                sharedBytes, stream.handle(), args.pointers());
    }

    @Override
    public String toString() {
        return "kernel " + name;
    }
}
