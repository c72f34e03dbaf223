package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream: work queued on it runs in order. A <em>blocking</em> stream (the default) also waits for work on
 * the legacy default stream, where the synchronous copies and memsets of {@link DeviceBuffer} run, so a kernel
 * queued after {@code copyFrom} sees the copied data; a <em>non-blocking</em> one does not, and must only be used
 * with asynchronous copies on itself. It can record its work into a CUDA graph ({@link #beginCapture()},
 * {@link #endCapture()}) to replay it with one launch.
 */
public final class CudaStream extends NativeResource {
    private final Driver driver;
    private final MemorySegment handle;
    private final boolean nonBlocking;

    CudaStream(Driver driver, boolean nonBlocking) {
        this.driver = driver;
        this.nonBlocking = nonBlocking;
        this.handle = driver.streamCreate(nonBlocking ? Driver.STREAM_NON_BLOCKING : Driver.STREAM_DEFAULT);
    }

    /** Whether it runs independently of the legacy default stream. */
    public boolean nonBlocking() {
        return nonBlocking;
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
        return nonBlocking ? "non-blocking CUDA stream" : "CUDA stream";
    }

    @Override
    protected void release() {
        driver.streamDestroy(handle);
    }
}
