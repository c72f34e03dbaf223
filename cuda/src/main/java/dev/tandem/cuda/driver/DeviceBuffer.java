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

    DeviceBuffer(Driver driver, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a device buffer needs at least 1 byte; got " + bytes);
        }
        this.driver = driver;
        this.bytes = bytes;
        this.address = driver.memAlloc(bytes);
    }

    /** The device address ({@code CUdeviceptr}), for kernel arguments and library calls. */
    public long address() {
        checkOpen();
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
        driver.memFree(address);
    }
}
