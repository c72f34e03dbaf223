package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory ({@code cuMemHostAlloc}), the staging area for asynchronous copies between host and
 * device. Its {@link #segment()} must not be used after {@link #close()} (which calls {@code cuMemFreeHost}).
 */
public final class PinnedBuffer extends NativeResource {
    private final Driver driver;
    private final MemorySegment segment;

    PinnedBuffer(Driver driver, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("pinned memory needs at least 1 byte; got " + bytes);
        }
        this.driver = driver;
        this.segment = driver.memHostAlloc(bytes, Driver.MEMHOSTALLOC_PORTABLE);
    }

    /** The host memory, {@link #bytes()} long. */
    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    /** Its size in bytes. */
    public long bytes() {
        return segment.byteSize();
    }

    @Override
    protected String describe() {
        return "pinned host buffer of " + segment.byteSize() + " bytes";
    }

    @Override
    protected void release() {
        driver.memFreeHost(segment);
    }
}
