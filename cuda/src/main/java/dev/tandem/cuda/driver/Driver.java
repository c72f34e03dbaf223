package dev.tandem.cuda.driver;

import static dev.tandem.cuda.ffm.Types.FLOAT;
import static dev.tandem.cuda.ffm.Types.INT;
import static dev.tandem.cuda.ffm.Types.LONG;
import static dev.tandem.cuda.ffm.Types.PTR;

import dev.tandem.cuda.CudaException;
import dev.tandem.cuda.ffm.Calls;
import dev.tandem.cuda.ffm.Downcall;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.cuda.ffm.Types;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

/**
 * Bindings to the CUDA driver API ({@code libcuda.so.1}), one method per C function, every return code checked:
 * a failure is a {@link CudaException} naming the call and the driver's error name and text
 * ({@code cuGetErrorName}, {@code cuGetErrorString}).
 *
 * <p>Symbol names are the ones {@code cuda.h} (CUDA 13) maps the API to: {@code cuMemAlloc_v2},
 * {@code cuGraphInstantiateWithFlags}, ... Device addresses ({@code CUdeviceptr}) are {@code long}; handles
 * ({@code CUcontext}, {@code CUstream}, ...) are {@link MemorySegment}s of size zero. Calls that use a context
 * need it current on the calling thread ({@link #ctxSetCurrent}). Thread-safe as the driver is.
 */
public final class Driver {
    /** {@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT}. */
    public static final int ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR}. */
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR}. */
    public static final int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    /** {@code CU_STREAM_DEFAULT}: the stream synchronises with the legacy default stream. */
    public static final int STREAM_DEFAULT = 0x0;
    /** {@code CU_STREAM_NON_BLOCKING}. */
    public static final int STREAM_NON_BLOCKING = 0x1;
    /** {@code CU_EVENT_DEFAULT}. */
    public static final int EVENT_DEFAULT = 0x0;
    /** {@code CU_EVENT_DISABLE_TIMING}. */
    public static final int EVENT_DISABLE_TIMING = 0x2;
    /** {@code CU_MEMHOSTALLOC_PORTABLE}. */
    public static final int MEMHOSTALLOC_PORTABLE = 0x1;
    /** {@code CU_STREAM_CAPTURE_MODE_GLOBAL}. */
    public static final int CAPTURE_MODE_GLOBAL = 0;
    /** {@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}. */
    public static final int CAPTURE_MODE_THREAD_LOCAL = 1;
    /** {@code CU_STREAM_CAPTURE_MODE_RELAXED}. */
    public static final int CAPTURE_MODE_RELAXED = 2;
    /** {@code CUDA_ERROR_NO_DEVICE}. */
    public static final int ERROR_NO_DEVICE = 100;

    private final NativeLibrary lib;

    private final Downcall cuGetErrorName;
    private final Downcall cuGetErrorString;
    private final Downcall cuInit;
    private final Downcall cuDriverGetVersion;
    private final Downcall cuDeviceGetCount;
    private final Downcall cuDeviceGet;
    private final Downcall cuDeviceGetName;
    private final Downcall cuDeviceGetAttribute;
    private final Downcall cuDeviceTotalMem;
    private final Downcall cuDevicePrimaryCtxRetain;
    private final Downcall cuDevicePrimaryCtxRelease;
    private final Downcall cuCtxSetCurrent;
    private final Downcall cuCtxSynchronize;
    private final Downcall cuMemGetInfo;
    private final Downcall cuMemAlloc;
    private final Downcall cuMemFree;
    private final Downcall cuMemcpyHtoD;
    private final Downcall cuMemcpyDtoH;
    private final Downcall cuMemcpyDtoD;
    private final Downcall cuMemcpyHtoDAsync;
    private final Downcall cuMemcpyDtoHAsync;
    private final Downcall cuMemcpyDtoDAsync;
    private final Downcall cuMemsetD32;
    private final Downcall cuMemsetD32Async;
    private final Downcall cuMemHostAlloc;
    private final Downcall cuMemFreeHost;
    private final Downcall cuStreamCreate;
    private final Downcall cuStreamSynchronize;
    private final Downcall cuStreamDestroy;
    private final Downcall cuEventCreate;
    private final Downcall cuEventRecord;
    private final Downcall cuEventSynchronize;
    private final Downcall cuEventElapsedTime;
    private final Downcall cuEventDestroy;
    private final Downcall cuModuleLoadData;
    private final Downcall cuModuleUnload;
    private final Downcall cuModuleGetFunction;
    private final Downcall cuLaunchKernel;
    private final Downcall cuStreamBeginCapture;
    private final Downcall cuStreamEndCapture;
    private final Downcall cuGraphInstantiate;
    private final Downcall cuGraphLaunch;
    private final Downcall cuGraphExecDestroy;
    private final Downcall cuGraphDestroy;

    /** Bindings over a loaded {@code libcuda}; nothing is called yet. */
    public Driver(NativeLibrary lib) {
        this.lib = lib;
        cuGetErrorName = lib.downcall(FunctionDescriptor.of(INT, INT, PTR), "cuGetErrorName");
        cuGetErrorString = lib.downcall(FunctionDescriptor.of(INT, INT, PTR), "cuGetErrorString");
        cuInit = lib.downcall(FunctionDescriptor.of(INT, INT), "cuInit");
        cuDriverGetVersion = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuDriverGetVersion");
        cuDeviceGetCount = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuDeviceGetCount");
        cuDeviceGet = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuDeviceGet");
        cuDeviceGetName = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT), "cuDeviceGetName");
        cuDeviceGetAttribute = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT), "cuDeviceGetAttribute");
        cuDeviceTotalMem = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = lib.downcall(FunctionDescriptor.of(INT, INT), "cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuCtxSetCurrent");
        cuCtxSynchronize = lib.downcall(FunctionDescriptor.of(INT), "cuCtxSynchronize");
        cuMemGetInfo = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cuMemGetInfo_v2");
        cuMemAlloc = lib.downcall(FunctionDescriptor.of(INT, PTR, LONG), "cuMemAlloc_v2");
        cuMemFree = lib.downcall(FunctionDescriptor.of(INT, LONG), "cuMemFree_v2");
        cuMemcpyHtoD = lib.downcall(FunctionDescriptor.of(INT, LONG, PTR, LONG), "cuMemcpyHtoD_v2");
        cuMemcpyDtoH = lib.downcall(FunctionDescriptor.of(INT, PTR, LONG, LONG), "cuMemcpyDtoH_v2");
        cuMemcpyDtoD = lib.downcall(FunctionDescriptor.of(INT, LONG, LONG, LONG), "cuMemcpyDtoD_v2");
        cuMemcpyHtoDAsync = lib.downcall(FunctionDescriptor.of(INT, LONG, PTR, LONG, PTR), "cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = lib.downcall(FunctionDescriptor.of(INT, PTR, LONG, LONG, PTR), "cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = lib.downcall(FunctionDescriptor.of(INT, LONG, LONG, LONG, PTR), "cuMemcpyDtoDAsync_v2");
        cuMemsetD32 = lib.downcall(FunctionDescriptor.of(INT, LONG, INT, LONG), "cuMemsetD32_v2");
        cuMemsetD32Async = lib.downcall(FunctionDescriptor.of(INT, LONG, INT, LONG, PTR), "cuMemsetD32Async");
        cuMemHostAlloc = lib.downcall(FunctionDescriptor.of(INT, PTR, LONG, INT), "cuMemHostAlloc");
        cuMemFreeHost = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuMemFreeHost");
        cuStreamCreate = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuStreamCreate");
        cuStreamSynchronize = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuStreamSynchronize");
        cuStreamDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuStreamDestroy_v2");
        cuEventCreate = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuEventCreate");
        cuEventRecord = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cuEventRecord");
        cuEventSynchronize = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuEventSynchronize");
        cuEventElapsedTime = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR), "cuEventElapsedTime_v2",
                "cuEventElapsedTime");
        cuEventDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuEventDestroy_v2");
        cuModuleLoadData = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cuModuleLoadData");
        cuModuleUnload = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuModuleUnload");
        cuModuleGetFunction = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR), "cuModuleGetFunction");
        cuLaunchKernel = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, INT, INT, PTR, PTR,
                PTR), "cuLaunchKernel");
        cuStreamBeginCapture = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cuStreamBeginCapture_v2");
        cuStreamEndCapture = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cuStreamEndCapture");
        cuGraphInstantiate = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, LONG), "cuGraphInstantiateWithFlags");
        cuGraphLaunch = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cuGraphLaunch");
        cuGraphExecDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuGraphExecDestroy");
        cuGraphDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cuGraphDestroy");
    }

    /** The library these bindings call. */
    public NativeLibrary library() {
        return lib;
    }

    // ---- errors ----

    /** The driver's name for a {@code CUresult}, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}; "" when it has none. */
    public String errorName(int code) {
        return errorText(cuGetErrorName, code);
    }

    /** The driver's description of a {@code CUresult}; "" when it has none. */
    public String errorString(int code) {
        return errorText(cuGetErrorString, code);
    }

    private static String errorText(Downcall d, int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) d.handle().invokeExact(code, out);
            return rc != 0 ? "" : Types.string(out.get(PTR, 0));
        } catch (Throwable t) {
            // The message of the original failure matters more than why its name could not be read.
            return "";
        }
    }

    /** Throws a {@link CudaException} for a non-zero {@code CUresult} of {@code call}. */
    public void check(int rc, Downcall call) {
        if (rc != 0) {
            throw new CudaException("driver", call.name(), rc, errorName(rc), errorString(rc));
        }
    }

    // ---- initialisation and devices ----

    /** {@code cuInit(flags)}; flags must be 0. */
    public void init(int flags) {
        int rc;
        try {
            rc = (int) cuInit.handle().invokeExact(flags);
        } catch (Throwable t) {
            throw Calls.rethrow(cuInit.name(), t);
        }
        check(rc, cuInit);
    }

    /** {@code cuDriverGetVersion}: e.g. 13000 for CUDA 13.0. */
    public int driverVersion() {
        return outInt(cuDriverGetVersion);
    }

    /** {@code cuDeviceGetCount}. */
    public int deviceCount() {
        return outInt(cuDeviceGetCount);
    }

    /** {@code cuDeviceGet}: the device handle of an ordinal. */
    public int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int rc = (int) cuDeviceGet.handle().invokeExact(out, ordinal);
            check(rc, cuDeviceGet);
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuDeviceGet.name(), t);
        }
    }

    /** {@code cuDeviceGetName}. */
    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            int rc = (int) cuDeviceGetName.handle().invokeExact(buf, 256, device);
            check(rc, cuDeviceGetName);
            return buf.getString(0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuDeviceGetName.name(), t);
        }
    }

    /** {@code cuDeviceGetAttribute}. */
    public int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int rc = (int) cuDeviceGetAttribute.handle().invokeExact(out, attribute, device);
            check(rc, cuDeviceGetAttribute);
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuDeviceGetAttribute.name(), t);
        }
    }

    /** {@code cuDeviceTotalMem_v2}: bytes of device memory. */
    public long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int rc = (int) cuDeviceTotalMem.handle().invokeExact(out, device);
            check(rc, cuDeviceTotalMem);
            return out.get(LONG, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuDeviceTotalMem.name(), t);
        }
    }

    /** {@code cuDevicePrimaryCtxRetain}: the device's primary context, retained. */
    public MemorySegment primaryContextRetain(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuDevicePrimaryCtxRetain.handle().invokeExact(out, device);
            check(rc, cuDevicePrimaryCtxRetain);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuDevicePrimaryCtxRetain.name(), t);
        }
    }

    /** {@code cuDevicePrimaryCtxRelease_v2}. */
    public void primaryContextRelease(int device) {
        callInt(cuDevicePrimaryCtxRelease, device);
    }

    /** {@code cuCtxSetCurrent}: binds the context to the calling thread. */
    public void ctxSetCurrent(MemorySegment context) {
        callPtr(cuCtxSetCurrent, context);
    }

    /** {@code cuCtxSynchronize}: waits for all work of the current context. */
    public void ctxSynchronize() {
        int rc;
        try {
            rc = (int) cuCtxSynchronize.handle().invokeExact();
        } catch (Throwable t) {
            throw Calls.rethrow(cuCtxSynchronize.name(), t);
        }
        check(rc, cuCtxSynchronize);
    }

    /** {@code cuMemGetInfo_v2}: {free, total} bytes of the current context's device. */
    public long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(LONG);
            MemorySegment total = a.allocate(LONG);
            int rc = (int) cuMemGetInfo.handle().invokeExact(free, total);
            check(rc, cuMemGetInfo);
            return new long[] {free.get(LONG, 0), total.get(LONG, 0)};
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemGetInfo.name(), t);
        }
    }

    // ---- memory ----

    /** {@code cuMemAlloc_v2}: a device address of {@code bytes} bytes. */
    public long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(LONG);
            int rc = (int) cuMemAlloc.handle().invokeExact(out, bytes);
            check(rc, cuMemAlloc);
            return out.get(LONG, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemAlloc.name(), t);
        }
    }

    /** {@code cuMemFree_v2}. */
    public void memFree(long devicePointer) {
        int rc;
        try {
            rc = (int) cuMemFree.handle().invokeExact(devicePointer);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemFree.name(), t);
        }
        check(rc, cuMemFree);
    }

    /** {@code cuMemcpyHtoD_v2}: {@code bytes} from host {@code src} to device {@code dst}. */
    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        int rc;
        try {
            rc = (int) cuMemcpyHtoD.handle().invokeExact(dst, src, bytes);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyHtoD.name(), t);
        }
        check(rc, cuMemcpyHtoD);
    }

    /** {@code cuMemcpyDtoH_v2}. */
    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        int rc;
        try {
            rc = (int) cuMemcpyDtoH.handle().invokeExact(dst, src, bytes);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyDtoH.name(), t);
        }
        check(rc, cuMemcpyDtoH);
    }

    /** {@code cuMemcpyDtoD_v2}. */
    public void memcpyDtoD(long dst, long src, long bytes) {
        int rc;
        try {
            rc = (int) cuMemcpyDtoD.handle().invokeExact(dst, src, bytes);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyDtoD.name(), t);
        }
        check(rc, cuMemcpyDtoD);
    }

    /** {@code cuMemcpyDtoDAsync_v2} on {@code stream} (capturable into a CUDA graph). */
    public void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cuMemcpyDtoDAsync.handle().invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyDtoDAsync.name(), t);
        }
        check(rc, cuMemcpyDtoDAsync);
    }

    /** {@code cuMemcpyHtoDAsync_v2} on {@code stream}; {@code src} should be pinned for a truly async copy. */
    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cuMemcpyHtoDAsync.handle().invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyHtoDAsync.name(), t);
        }
        check(rc, cuMemcpyHtoDAsync);
    }

    /** {@code cuMemcpyDtoHAsync_v2} on {@code stream}. */
    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cuMemcpyDtoHAsync.handle().invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemcpyDtoHAsync.name(), t);
        }
        check(rc, cuMemcpyDtoHAsync);
    }

    /** {@code cuMemsetD32_v2}: {@code count} 32-bit words set to {@code value}. */
    public void memsetD32(long dst, int value, long count) {
        int rc;
        try {
            rc = (int) cuMemsetD32.handle().invokeExact(dst, value, count);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemsetD32.name(), t);
        }
        check(rc, cuMemsetD32);
    }

    /** {@code cuMemsetD32Async}. */
    public void memsetD32Async(long dst, int value, long count, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cuMemsetD32Async.handle().invokeExact(dst, value, count, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemsetD32Async.name(), t);
        }
        check(rc, cuMemsetD32Async);
    }

    /** {@code cuMemHostAlloc}: page-locked host memory of {@code bytes}, as a segment of that size. */
    public MemorySegment memHostAlloc(long bytes, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuMemHostAlloc.handle().invokeExact(out, bytes, flags);
            check(rc, cuMemHostAlloc);
            return out.get(PTR, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw Calls.rethrow(cuMemHostAlloc.name(), t);
        }
    }

    /** {@code cuMemFreeHost}. */
    public void memFreeHost(MemorySegment host) {
        callPtr(cuMemFreeHost, host);
    }

    // ---- streams and events ----

    /** {@code cuStreamCreate}. */
    public MemorySegment streamCreate(int flags) {
        return outPtrWithInt(cuStreamCreate, flags);
    }

    /** {@code cuStreamSynchronize}. */
    public void streamSynchronize(MemorySegment stream) {
        callPtr(cuStreamSynchronize, stream);
    }

    /** {@code cuStreamDestroy_v2}. */
    public void streamDestroy(MemorySegment stream) {
        callPtr(cuStreamDestroy, stream);
    }

    /** {@code cuEventCreate}. */
    public MemorySegment eventCreate(int flags) {
        return outPtrWithInt(cuEventCreate, flags);
    }

    /** {@code cuEventRecord}. */
    public void eventRecord(MemorySegment event, MemorySegment stream) {
        callPtrPtr(cuEventRecord, event, stream);
    }

    /** {@code cuEventSynchronize}. */
    public void eventSynchronize(MemorySegment event) {
        callPtr(cuEventSynchronize, event);
    }

    /** {@code cuEventElapsedTime(_v2)}: milliseconds between two recorded events. */
    public float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(FLOAT);
            int rc = (int) cuEventElapsedTime.handle().invokeExact(out, start, end);
            check(rc, cuEventElapsedTime);
            return out.get(FLOAT, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuEventElapsedTime.name(), t);
        }
    }

    /** {@code cuEventDestroy_v2}. */
    public void eventDestroy(MemorySegment event) {
        callPtr(cuEventDestroy, event);
    }

    // ---- modules and launches ----

    /** {@code cuModuleLoadData}: loads a PTX (NUL-terminated) or cubin image. */
    public MemorySegment moduleLoadData(MemorySegment image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuModuleLoadData.handle().invokeExact(out, image);
            check(rc, cuModuleLoadData);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuModuleLoadData.name(), t);
        }
    }

    /** {@code cuModuleUnload}. */
    public void moduleUnload(MemorySegment module) {
        callPtr(cuModuleUnload, module);
    }

    /** {@code cuModuleGetFunction}: a kernel of a loaded module by its (extern "C") name. */
    public MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuModuleGetFunction.handle().invokeExact(out, module, a.allocateFrom(name));
            if (rc != 0) {
                throw new CudaException("driver", cuModuleGetFunction.name() + "(\"" + name + "\")", rc,
                        errorName(rc), errorString(rc));
            }
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuModuleGetFunction.name(), t);
        }
    }

    /**
     * {@code cuLaunchKernel} with {@code params} an array of pointers, one to each argument's value (the
     * driver copies the values at launch).
     */
    public void launchKernel(MemorySegment function, int gridX, int gridY, int gridZ, int blockX, int blockY,
                             int blockZ, int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.handle().invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                    sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw Calls.rethrow(cuLaunchKernel.name(), t);
        }
        check(rc, cuLaunchKernel);
    }

    // ---- graphs ----

    /** {@code cuStreamBeginCapture_v2}: later work on the stream is recorded into a graph, not run. */
    public void streamBeginCapture(MemorySegment stream, int mode) {
        int rc;
        try {
            rc = (int) cuStreamBeginCapture.handle().invokeExact(stream, mode);
        } catch (Throwable t) {
            throw Calls.rethrow(cuStreamBeginCapture.name(), t);
        }
        check(rc, cuStreamBeginCapture);
    }

    /** {@code cuStreamEndCapture}: the graph recorded since the capture began. */
    public MemorySegment streamEndCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuStreamEndCapture.handle().invokeExact(stream, out);
            check(rc, cuStreamEndCapture);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuStreamEndCapture.name(), t);
        }
    }

    /** {@code cuGraphInstantiateWithFlags}. */
    public MemorySegment graphInstantiate(MemorySegment graph, long flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cuGraphInstantiate.handle().invokeExact(out, graph, flags);
            check(rc, cuGraphInstantiate);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cuGraphInstantiate.name(), t);
        }
    }

    /** {@code cuGraphLaunch}. */
    public void graphLaunch(MemorySegment graphExec, MemorySegment stream) {
        callPtrPtr(cuGraphLaunch, graphExec, stream);
    }

    /** {@code cuGraphExecDestroy}. */
    public void graphExecDestroy(MemorySegment graphExec) {
        callPtr(cuGraphExecDestroy, graphExec);
    }

    /** {@code cuGraphDestroy}. */
    public void graphDestroy(MemorySegment graph) {
        callPtr(cuGraphDestroy, graph);
    }

    // ---- call shapes shared by several functions ----

    private int outInt(Downcall d) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int rc = (int) d.handle().invokeExact(out);
            check(rc, d);
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    private MemorySegment outPtrWithInt(Downcall d, int arg) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) d.handle().invokeExact(out, arg);
            check(rc, d);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    private void callInt(Downcall d, int arg) {
        int rc;
        try {
            rc = (int) d.handle().invokeExact(arg);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
        check(rc, d);
    }

    private void callPtr(Downcall d, MemorySegment arg) {
        int rc;
        try {
            rc = (int) d.handle().invokeExact(arg);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
        check(rc, d);
    }

    private void callPtrPtr(Downcall d, MemorySegment a0, MemorySegment a1) {
        int rc;
        try {
            rc = (int) d.handle().invokeExact(a0, a1);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
        check(rc, d);
    }
}
