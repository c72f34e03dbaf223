package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * One GPU with its primary context retained: the root of every other CUDA object (memory, streams, modules).
 * Opening it calls {@code cuInit}, retains the primary context and makes it current on the calling thread; a
 * thread that did not open it calls {@link #makeCurrent()} before using objects made from it. Close everything
 * made from it before closing it (closing releases the primary context).
 */
public final class CudaDevice extends NativeResource {
    private final Driver driver;
    private final int ordinal;
    private final int handle;
    private final String name;
    private final int major;
    private final int minor;
    private final int multiprocessors;
    private final long totalMemory;
    private final MemorySegment context;

    private CudaDevice(Driver driver, int ordinal) {
        this.driver = driver;
        this.ordinal = ordinal;
        driver.init(0);
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + ": the driver sees " + count);
        }
        this.handle = driver.device(ordinal);
        this.name = driver.deviceName(handle);
        this.major = driver.attribute(handle, Driver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.minor = driver.attribute(handle, Driver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = driver.attribute(handle, Driver.ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.totalMemory = driver.totalMemory(handle);
        this.context = driver.primaryContextRetain(handle);
        try {
            driver.ctxSetCurrent(context);
        } catch (RuntimeException e) {
            driver.primaryContextRelease(handle);
            throw e;
        }
    }

    /** Opens device {@code ordinal} (0 is the first). */
    public static CudaDevice open(Driver driver, int ordinal) {
        return new CudaDevice(driver, ordinal);
    }

    /** The driver bindings. */
    public Driver driver() {
        return driver;
    }

    /** Its ordinal. */
    public int ordinal() {
        return ordinal;
    }

    /** The marketing name, e.g. "NVIDIA H100 80GB HBM3". */
    public String name() {
        return name;
    }

    /** Compute capability, major part (9 for Hopper). */
    public int computeMajor() {
        return major;
    }

    /** Compute capability, minor part. */
    public int computeMinor() {
        return minor;
    }

    /** The virtual architecture kernels are compiled for, e.g. {@code compute_90}. */
    public String virtualArch() {
        return "compute_" + major + minor;
    }

    /** Streaming multiprocessors. */
    public int multiprocessors() {
        return multiprocessors;
    }

    /** Bytes of device memory. */
    public long totalMemory() {
        return totalMemory;
    }

    /** The primary context. */
    public MemorySegment context() {
        checkOpen();
        return context;
    }

    /** Makes the primary context current on the calling thread. */
    public void makeCurrent() {
        checkOpen();
        driver.ctxSetCurrent(context);
    }

    /** Waits until all work on the device is done ({@code cuCtxSynchronize}). */
    public void synchronize() {
        checkOpen();
        driver.ctxSynchronize();
    }

    /** Device memory of {@code bytes} (not zeroed). */
    public DeviceBuffer allocate(long bytes) {
        checkOpen();
        return new DeviceBuffer(driver, bytes);
    }

    /** Page-locked host memory of {@code bytes}, for asynchronous copies. */
    public PinnedBuffer allocatePinned(long bytes) {
        checkOpen();
        return new PinnedBuffer(driver, bytes);
    }

    /** A new stream that is ordered after the synchronous copies and memsets (see {@link CudaStream}). */
    public CudaStream createStream() {
        checkOpen();
        return new CudaStream(driver, false);
    }

    /** A new stream independent of the legacy default stream: use only asynchronous copies with it. */
    public CudaStream createNonBlockingStream() {
        checkOpen();
        return new CudaStream(driver, true);
    }

    /** A new event; {@code timing} false makes it cheaper for pure synchronisation. */
    public CudaEvent createEvent(boolean timing) {
        checkOpen();
        return new CudaEvent(driver, timing);
    }

    /** Loads a module from PTX text or a cubin image. */
    public CudaModule loadModule(byte[] image, String name) {
        checkOpen();
        return new CudaModule(driver, image, name);
    }

    /** One line: name, compute capability, memory. */
    public String summary() {
        return String.format(java.util.Locale.ROOT, "%s (compute %d.%d, %d SMs, %.1f GiB)", name, major, minor,
                multiprocessors, totalMemory / (double) (1L << 30));
    }

    @Override
    protected String describe() {
        return "CUDA device " + ordinal + " (" + name + ")";
    }

    @Override
    protected void release() {
        driver.primaryContextRelease(handle);
    }
}
