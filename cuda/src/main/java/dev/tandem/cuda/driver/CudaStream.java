package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * A non-blocking CUDA stream: work queued on it runs in order, concurrently with other streams. It can record its
 * work into a CUDA graph ({@link #beginCapture()}, {@link #endCapture()}) to replay it with one launch.
 */
public final class CudaStream extends NativeResource {
    private final Driver driver;
    private final MemorySegment handle;

    CudaStream(Driver driver) {
        this.driver = driver;
        this.handle = driver.streamCreate(Driver.STREAM_NON_BLOCKING);
    }

    /** The {@code CUstream}. */
    public MemorySegment handle() {
        checkOpen();
        return handle;
    }

    /** Blocks until everything queued so far has run. */
    public void synchronize() {
        checkOpen();
        driver.streamSynchronize(handle);
    }

    /** Starts recording this stream's work (thread-local capture mode) instead of running it. */
    public void beginCapture() {
        checkOpen();
        driver.streamBeginCapture(handle, Driver.CAPTURE_MODE_THREAD_LOCAL);
    }

    /** Ends recording: the work queued since {@link #beginCapture()} as a graph. */
    public CudaGraph endCapture() {
        checkOpen();
        return new CudaGraph(driver, driver.streamEndCapture(handle));
    }

    @Override
    protected String describe() {
        return "CUDA stream";
    }

    @Override
    protected void release() {
        driver.streamDestroy(handle);
    }
}
