package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Device memory ({@code cuMemAlloc_v2}), freed by {@link #close()}. Copies check their sizes against the buffer's
 * before calling the driver. Synchronous copies block the calling thread; asynchronous ones run on a stream and
 * need pinned host memory ({@link PinnedBuffer}) to overlap with compute. Not thread-safe for concurrent close.
 */
public final class DeviceBuffer extends NativeResource {
    private final Driver driver;
    private final long address;
    private final long bytes;
    private final DeviceBuffer viewOf;

    DeviceBuffer(Driver driver, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a device buffer needs at least 1 byte; got " + bytes);
        }
        this.driver = driver;
        this.bytes = bytes;
        this.address = driver.memAlloc(bytes);
        this.viewOf = null;
    }

    private DeviceBuffer(DeviceBuffer of, long offset, long bytes) {
        this.driver = of.driver;
        this.bytes = bytes;
        this.address = of.address() + offset;
        this.viewOf = of;
    }

    /**
     * The bytes {@code [offset, offset + bytes)} of this buffer as a buffer of their own, for library calls that take
     * buffers (a value in a planned arena). Closing the view frees nothing; the view is invalid once this buffer is
     * closed.
     */
    public DeviceBuffer view(long offset, long bytes) {
        checkOpen();
        if (offset < 0 || bytes <= 0 || offset + bytes > this.bytes) {
            throw new IllegalArgumentException("view [" + offset + ", " + (offset + bytes) + ") is outside "
                    + describe());
        }
        return new DeviceBuffer(this, offset, bytes);
    }

    /** The device address ({@code CUdeviceptr}), for kernel arguments and library calls. */
    public long address() {
        checkOpen();
        if (viewOf != null) {
            viewOf.checkOpen();
        }
        return address;
    }

    /** Its size in bytes. */
    public long bytes() {
        return bytes;
    }

    /** Copies all of {@code host} to the start of this buffer. */
    public void copyFrom(MemorySegment host) {
        checkOpen();
        checkFits(host.byteSize());
        driver.memcpyHtoD(address, host, host.byteSize());
    }

    /** Copies the start of this buffer into all of {@code host}. */
    public void copyTo(MemorySegment host) {
        checkOpen();
        checkFits(host.byteSize());
        driver.memcpyDtoH(host, address, host.byteSize());
    }

    /** Copies {@code values} to the start of this buffer. */
    public void copyFrom(float[] values) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_FLOAT, values));
        }
    }

    /** Reads the first {@code count} floats of this buffer. */
    public float[] toFloats(int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(ValueLayout.JAVA_FLOAT, count);
            copyTo(host);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Copies {@code values} to the start of this buffer. */
    public void copyFrom(int[] values) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_INT, values));
        }
    }

    /** Reads the first {@code count} 32-bit integers of this buffer. */
    public int[] toInts(int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(ValueLayout.JAVA_INT, count);
            copyTo(host);
            return host.toArray(ValueLayout.JAVA_INT);
        }
    }

    /** Reads the first {@code count} 16-bit values of this buffer (e.g. bfloat16 bits). */
    public short[] toShorts(int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(ValueLayout.JAVA_SHORT, count);
            copyTo(host);
            return host.toArray(ValueLayout.JAVA_SHORT);
        }
    }

    /** Copies {@code values} (e.g. bfloat16 bits) to the start of this buffer. */
    public void copyFrom(short[] values) {
        try (Arena a = Arena.ofConfined()) {
            copyFrom(a.allocateFrom(ValueLayout.JAVA_SHORT, values));
        }
    }

    /** Asynchronous copy of all of {@code host} to the start of this buffer, on {@code stream}. */
    public void copyFromAsync(PinnedBuffer host, CudaStream stream) {
        checkOpen();
        checkFits(host.bytes());
        driver.memcpyHtoDAsync(address, host.segment(), host.bytes(), stream.handle());
    }

    /** Asynchronous copy of the start of this buffer into all of {@code host}, on {@code stream}. */
    public void copyToAsync(PinnedBuffer host, CudaStream stream) {
        checkOpen();
        checkFits(host.bytes());
        driver.memcpyDtoHAsync(host.segment(), address, host.bytes(), stream.handle());
    }

    /** Copies all of {@code source} to the start of this buffer, on the device. */
    public void copyFrom(DeviceBuffer source) {
        checkOpen();
        checkFits(source.bytes());
        driver.memcpyDtoD(address, source.address(), source.bytes());
    }

    /** Asynchronous device-to-device copy of {@code bytes} from {@code source} to the start of this buffer. */
    public void copyFromAsync(DeviceBuffer source, long bytes, CudaStream stream) {
        checkOpen();
        checkFits(bytes);
        if (bytes > source.bytes()) {
            throw new IllegalArgumentException("copy of " + bytes + " bytes reads past " + source);
        }
        driver.memcpyDtoDAsync(address, source.address(), bytes, stream.handle());
    }

    /** Sets every 32-bit word to {@code word} on {@code stream} (capturable). */
    public void fillAsync(int word, CudaStream stream) {
        checkOpen();
        driver.memsetD32Async(address(), word, bytes / 4, stream.handle());
    }

    /** Sets every 32-bit word to {@code word} (0 zeroes it; {@code Float.floatToRawIntBits(x)} fills floats). */
    public void fill(int word) {
        checkOpen();
        driver.memsetD32(address, word, bytes / 4);
    }

    private void checkFits(long n) {
        if (n > bytes) {
            throw new IllegalArgumentException("copy of " + n + " bytes does not fit " + describe());
        }
    }

    @Override
    protected String describe() {
        return "device buffer of " + bytes + " bytes";
    }

    @Override
    protected void release() {
        if (viewOf != null) {
            return;
        }
        driver.memFree(address);
    }
}
