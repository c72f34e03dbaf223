package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA graph recorded from a stream ({@link CudaStream#endCapture()}). {@link #instantiate()} turns it into an
 * executable graph that replays the whole recorded sequence with one launch.
 */
public final class CudaGraph extends NativeResource {
    private final Driver driver;
    private final MemorySegment handle;

    CudaGraph(Driver driver, MemorySegment handle) {
        this.driver = driver;
        this.handle = handle;
    }

    /** An executable instance ({@code cuGraphInstantiateWithFlags}, no flags). */
    public CudaGraphExec instantiate() {
        checkOpen();
        return new CudaGraphExec(driver, driver.graphInstantiate(handle, 0));
    }

    @Override
    protected String describe() {
        return "CUDA graph";
    }

    @Override
    protected void release() {
        driver.graphDestroy(handle);
    }
}
