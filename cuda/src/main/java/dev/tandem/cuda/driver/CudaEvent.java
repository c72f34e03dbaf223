package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/** A CUDA event: a marker recorded on a stream, to wait for or to time GPU work between two of them. */
public final class CudaEvent extends NativeResource {
    private final Driver driver;
    private final MemorySegment handle;

    CudaEvent(Driver driver, boolean timing) {
        this.driver = driver;
        this.handle = driver.eventCreate(timing ? Driver.EVENT_DEFAULT : Driver.EVENT_DISABLE_TIMING);
    }

    /** Records the event on {@code stream}. */
    public void record(CudaStream stream) {
        checkOpen();
        driver.eventRecord(handle, stream.handle());
    }

    /** Blocks until the recorded work has run. */
    public void synchronize() {
        checkOpen();
        driver.eventSynchronize(handle);
    }

    /** Milliseconds of GPU time from {@code start} to this event (both recorded and completed, with timing). */
    public float millisSince(CudaEvent start) {
        checkOpen();
        return driver.eventElapsedMillis(start.handle(), handle);
    }

    MemorySegment handle() {
        checkOpen();
        return handle;
    }

    @Override
    protected String describe() {
        return "CUDA event";
    }

    @Override
    protected void release() {
        driver.eventDestroy(handle);
    }
}
