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
    private final boolean bf16;
    /** {@code -Dtandem.cuda.profile}: each convolution's algorithms and cuDNN's own timings of them are printed. */
    private static final boolean PROFILE = System.getProperty("tandem.cuda.profile", "false").matches("true|steps");
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
        this(cudnn, stream, tf32, false, maxWorkspace, timed);
    }

    /**
     * As {@link #CudnnHandle(Cudnn, CudaStream, boolean, long, boolean)}; with {@code bf16} its convolutions take
     * and give bfloat16 data (2 bytes per element), accumulated in float32 on tensor cores.
     */
    public CudnnHandle(Cudnn cudnn, CudaStream stream, boolean tf32, boolean bf16, long maxWorkspace,
                       boolean timed) {
        this.timed = timed;
        this.bf16 = bf16;
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

    /** Whether its convolutions take bfloat16 data. */
    public boolean bf16() {
        return bf16;
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
            p = new CudnnConvolution(cudnn, handle, shape, tf32, bf16, maxWorkspace, timed);
            plans.put(shape, p);
            if (PROFILE) {
                AlgoPerf[] a = p.algorithms();
                String[] t = new String[3];
                for (int i = 0; i < 3; i++) {
                    // cuDNN's own timing where it timed them; its ranking has none (-1)
                    t[i] = timed ? String.format(java.util.Locale.ROOT, " (%.1f us)", a[i].time() * 1e3) : "";
                }
                System.err.printf(java.util.Locale.ROOT, "cuDNN %s%s: forward algo %d%s, backward data algo %d%s, "
                        + "backward filter algo %d%s, math %d/%d/%d%n", shape, bf16 ? " bfloat16" : "", a[0].algo(),
                        t[0], a[1].algo(), t[1], a[2].algo(), t[2], a[0].mathType(), a[1].mathType(),
                        a[2].mathType());
            }
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
