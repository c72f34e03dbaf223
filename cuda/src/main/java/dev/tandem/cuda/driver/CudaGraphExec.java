package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/** An instantiated CUDA graph: {@link #launch} replays everything it recorded, on a stream, with one call. */
public final class CudaGraphExec extends NativeResource {
    private final Driver driver;
    private final MemorySegment handle;

    CudaGraphExec(Driver driver, MemorySegment handle) {
        this.driver = driver;
        this.handle = handle;
    }

    /** Queues one replay on {@code stream}. */
    public void launch(CudaStream stream) {
        checkOpen();
        driver.graphLaunch(handle, stream.handle());
    }

    @Override
    protected String describe() {
        return "executable CUDA graph";
    }

    @Override
    protected void release() {
        driver.graphExecDestroy(handle);
    }
}
