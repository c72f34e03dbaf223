package dev.tandem.cuda.dnn;

import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A cuDNN handle on one stream, and the convolutions planned on it: {@link #convolution(ConvShape)} chooses the
 * algorithms for a shape once and caches the plan, which the handle owns and closes with itself. Create it with
 * the device's context current; use it from one thread at a time.
 */
public final class CudnnHandle extends NativeResource {
    private final Cudnn cudnn;
    private final MemorySegment handle;
    private final boolean tf32;
    private final long maxWorkspace;
    private final boolean timed;
    private final Map<ConvShape, CudnnConvolution> plans = new LinkedHashMap<>();

    /**
     * A handle on {@code stream}.
     *
     * @param tf32 allow tensor cores (TF32) for float32 convolutions; false forces full float32 (FMA math)
     * @param maxWorkspace the most workspace bytes one convolution algorithm may ask for
     */
    public CudnnHandle(Cudnn cudnn, CudaStream stream, boolean tf32, long maxWorkspace) {
        this(cudnn, stream, tf32, maxWorkspace, false);
    }

    /**
     * As {@link #CudnnHandle(Cudnn, CudaStream, boolean, long)}; {@code timed} chooses each convolution's algorithms
     * by running them all once ({@code cudnnFind*}) instead of by cuDNN's heuristics.
     */
    public CudnnHandle(Cudnn cudnn, CudaStream stream, boolean tf32, long maxWorkspace, boolean timed) {
        this.timed = timed;
        this.cudnn = cudnn;
        this.tf32 = tf32;
        this.maxWorkspace = maxWorkspace;
        this.handle = cudnn.create();
        try {
            cudnn.setStream(handle, stream.handle());
        } catch (RuntimeException e) {
            cudnn.destroy(handle);
            throw e;
        }
    }

    /** The library's version, e.g. 91400. */
    public long version() {
        return cudnn.version();
    }

    /** The plan for {@code shape}: descriptors and the algorithms chosen for it, made on first request. */
    public synchronized CudnnConvolution convolution(ConvShape shape) {
        checkOpen();
        CudnnConvolution p = plans.get(shape);
        if (p == null) {
            p = new CudnnConvolution(cudnn, handle, shape, tf32, maxWorkspace, timed);
            plans.put(shape, p);
        }
        return p;
    }

    @Override
    protected String describe() {
        return "cuDNN handle";
    }

    @Override
    protected void release() {
        List<RuntimeException> failures = new ArrayList<>();
        synchronized (this) {
            for (CudnnConvolution p : plans.values()) {
                try {
                    p.close();
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
            plans.clear();
        }
        cudnn.destroy(handle);
        if (!failures.isEmpty()) {
            throw failures.getFirst();
        }
    }
}
