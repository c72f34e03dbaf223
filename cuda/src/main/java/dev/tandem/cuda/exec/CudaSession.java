package dev.tandem.cuda.exec;

import dev.tandem.cuda.CudaLibraries;
import dev.tandem.cuda.CudaProbe;
import dev.tandem.cuda.blas.CublasHandle;
import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.cuda.dnn.CudnnHandle;
import dev.tandem.cuda.driver.CudaDevice;
import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.kernels.KernelCompiler;
import dev.tandem.cuda.kernels.KernelLibrary;
import dev.tandem.cuda.kernels.KernelSources;
import dev.tandem.cuda.kernels.PtxCache;
import dev.tandem.cuda.nvrtc.NvrtcPtxCompiler;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The CUDA {@link DeviceSession}: device 0's primary context, one stream that every copy, kernel, cuBLAS and cuDNN
 * call goes to, Tandem's kernels compiled by NVRTC (PTX cached on disk), and the device copies of attached
 * tensors. Plans loaded here ({@link CudaPlan}) run on that stream.
 *
 * <p>Settings (system properties or {@code TANDEM_CUDA_*} environment variables): {@code tandem.cuda.precision}
 * ({@code tf32}, the default: cuBLAS and cuDNN may use TF32 tensor cores for float32 data; {@code float32}: full
 * float32; {@code bf16}: mixed precision, convolutions and matrix products on bfloat16 copies of their operands with
 * float32 accumulation and float32 results, everything else and the weights themselves in float32),
 * {@code tandem.cuda.tf32} (false is {@code float32}; the older switch), {@code tandem.cuda.graphs} (default true:
 * a plan's steps are captured once as a CUDA graph and replayed), {@code tandem.cuda.convAlgo} ({@code heuristic},
 * the default, or {@code timed}). Not thread-safe.
 */
public final class CudaSession implements DeviceSession {
    private final CudaLibraries libs;
    private final CudaDevice device;
    private final CudaStream stream;
    private final KernelLibrary kernels;
    private final CublasHandle blas;
    private final CudnnHandle dnn;
    private final boolean tf32;
    private final boolean bf16;
    private final boolean graphs;
    private final String summary;
    private final Map<Tensor, DeviceBuffer> attached = new IdentityHashMap<>();
    private final List<Tensor> order = new ArrayList<>();
    private final List<CudaPlan> plans = new ArrayList<>();

    private CudaSession(CudaLibraries libs, CudaDevice device, CudaStream stream, KernelLibrary kernels,
                        CublasHandle blas, CudnnHandle dnn, boolean tf32, boolean bf16, boolean graphs,
                        String summary) {
        this.libs = libs;
        this.device = device;
        this.stream = stream;
        this.kernels = kernels;
        this.blas = blas;
        this.dnn = dnn;
        this.tf32 = tf32;
        this.bf16 = bf16;
        this.graphs = graphs;
        this.summary = summary;
    }

    /** Opens device 0 with the libraries {@code environment} leads to. */
    public static CudaSession open(BackendEnvironment environment) {
        String precision = precision(environment);
        return open(environment, !precision.equals("float32"), precision.equals("bf16"),
                flag(environment, "graphs", true));
    }

    /**
     * The precision {@code environment} asks for: {@code tandem.cuda.precision} when set, else {@code float32} when
     * {@code tandem.cuda.tf32} is false, else {@code tf32}.
     *
     * @throws IllegalArgumentException for another value, naming the ones there are
     */
    public static String precision(BackendEnvironment environment) {
        String p = environment.property("tandem.cuda.precision")
                .or(() -> environment.env("TANDEM_CUDA_PRECISION")).map(v -> v.trim().toLowerCase(Locale.ROOT))
                .orElse(flag(environment, "tf32", true) ? "tf32" : "float32");
        return switch (p) {
            case "tf32", "float32", "bf16" -> p;
            case "fp32" -> "float32";
            case "bfloat16" -> "bf16";
            default -> throw new IllegalArgumentException("tandem.cuda.precision: '" + p + "' is not a precision; "
                    + "use tf32 (the default), float32 or bf16");
        };
    }

    /** Opens device 0 with explicit TF32 and CUDA-graph choices (tests compare both). */
    public static CudaSession open(BackendEnvironment environment, boolean tf32, boolean graphs) {
        return open(environment, tf32, false, graphs);
    }

    /**
     * Opens device 0 with explicit choices; {@code bf16}: convolutions and matrix products on bfloat16 copies of
     * their operands (see the class comment).
     */
    public static CudaSession open(BackendEnvironment environment, boolean tf32, boolean bf16, boolean graphs) {
        CudaLibraries libs = new CudaLibraries(new LibrarySearch(environment));
        libs.driver().init(0);
        CudaProbe.DeviceInfo info = CudaProbe.device(libs.driver(), 0);
        if (bf16) {
            requireBfloat16(info);
        }
        CudaDevice device = CudaDevice.open(libs.driver(), 0);
        CudaStream stream = null;
        KernelLibrary kernels = null;
        CublasHandle blas = null;
        CudnnHandle dnn = null;
        try {
            stream = device.createStream();
            NvrtcPtxCompiler compiler = new NvrtcPtxCompiler(libs.nvrtc());
            kernels = new KernelLibrary(device, KernelSources.load(), new KernelCompiler(compiler,
                    PtxCache.fromEnvironment(environment)));
            blas = new CublasHandle(libs.cublas(), stream, tf32);
            // cuDNN's own ranking by default: on an H200 it trained FashionNet 17% faster per epoch and ResNet-18
            // 11-24% faster per step than the algorithms cudnnFind* timed fastest in isolation, and spends no
            // start-up time timing them (docs/gpu.md). -Dtandem.cuda.convAlgo=timed times them.
            dnn = new CudnnHandle(libs.cudnn(), stream, tf32, bf16, 256L << 20,
                    flagValue(environment, "convAlgo", "heuristic").equals("timed"));
            int v = libs.driver().driverVersion();
            String summary = info.describe() + ", CUDA " + v / 1000 + "."
                    + (v % 1000) / 10 + (bf16 ? ", bfloat16 mixed precision" : tf32 ? ", TF32" : ", float32")
                    + (graphs ? ", CUDA graphs" : "");
            return new CudaSession(libs, device, stream, kernels, blas, dnn, tf32, bf16, graphs, summary);
        } catch (RuntimeException e) {
            if (dnn != null) {
                dnn.close();
            }
            if (blas != null) {
                blas.close();
            }
            if (kernels != null) {
                kernels.close();
            }
            if (stream != null) {
                stream.close();
            }
            device.close();
            throw e;
        }
    }

    /**
     * Refuses bfloat16 mixed precision on a GPU older than Ampere (compute capability 8.0), where cuDNN and cuBLAS
     * have no bfloat16 convolutions or tensor-core products: said at once, not as a library error at the first op.
     */
    public static void requireBfloat16(CudaProbe.DeviceInfo info) {
        if (info.major() < 8) {
            throw new IllegalStateException("bfloat16 mixed precision needs a GPU of compute capability 8.0 "
                    + "(Ampere) or newer; " + info.describe() + " is not one: use precision tf32 or float32 (the "
                    + "same on this GPU, float32: TF32 needs Ampere too)");
        }
    }

    private static String flagValue(BackendEnvironment env, String name, String dflt) {
        return env.property("tandem.cuda." + name)
                .or(() -> env.env("TANDEM_CUDA_" + name.toUpperCase(Locale.ROOT))).orElse(dflt);
    }

    private static boolean flag(BackendEnvironment env, String name, boolean dflt) {
        String v = env.property("tandem.cuda." + name)
                .or(() -> env.env("TANDEM_CUDA_" + name.toUpperCase(Locale.ROOT))).orElse(null);
        return v == null ? dflt : !(v.equalsIgnoreCase("false") || v.equals("0") || v.equalsIgnoreCase("off"));
    }

    @Override
    public String summary() {
        return summary;
    }

    /** Whether convolutions and matrix products run on bfloat16 copies of their operands. */
    boolean bf16() {
        return bf16;
    }

    CudaDevice device() {
        return device;
    }

    CudaStream stream() {
        return stream;
    }

    KernelLibrary kernels() {
        return kernels;
    }

    CublasHandle blas() {
        return blas;
    }

    CudnnHandle dnn() {
        return dnn;
    }

    boolean graphs() {
        return graphs;
    }

    /** The libraries loaded, one line each (for reports). */
    public List<String> loaded() {
        return libs.loaded();
    }

    /** The device copy of {@code host}, or null when it is not attached. */
    DeviceBuffer attachedBuffer(Tensor host) {
        return attached.get(host);
    }

    @Override
    public void attach(Tensor host) {
        if (attached.containsKey(host)) {
            return;
        }
        if (!host.isContiguous()) {
            throw new IllegalArgumentException("Only contiguous tensors can be attached; got " + host);
        }
        long bytes = Math.max(4, host.size() * host.dtype().byteSize());
        DeviceBuffer b = device.allocate(bytes);
        try {
            copyIn(host, b);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        attached.put(host, b);
        order.add(host);
    }

    private static MemorySegment bytesOf(Tensor t) {
        long n = t.size() * t.dtype().byteSize();
        return t.segment().asSlice(t.offset() * t.dtype().byteSize(), n);
    }

    private void copyIn(Tensor host, DeviceBuffer b) {
        if (host.size() > 0) {
            stream.synchronize();
            b.copyFrom(bytesOf(host));
        }
    }

    @Override
    public void download() {
        stream.synchronize();
        forgetClosed();
        for (Tensor t : order) {
            if (t.size() > 0) {
                attached.get(t).copyTo(bytesOf(t));
            }
        }
    }

    @Override
    public void upload() {
        forgetClosed();
        for (Tensor t : order) {
            copyIn(t, attached.get(t));
        }
    }

    /** Host tensors closed since they were attached (a model closed after training) lose their device copies. */
    private void forgetClosed() {
        for (var it = order.iterator(); it.hasNext(); ) {
            Tensor t = it.next();
            if (t.isClosed()) {
                it.remove();
                attached.remove(t).close();
            }
        }
    }

    @Override
    public DevicePlan load(ExecutionPlan plan) {
        CudaPlan p = new CudaPlan(this, plan);
        plans.add(p);
        return p;
    }

    void forget(CudaPlan p) {
        plans.remove(p);
    }

    @Override
    public long deviceBytes() {
        long n = 0;
        for (DeviceBuffer b : attached.values()) {
            n += b.bytes();
        }
        for (CudaPlan p : plans) {
            n += p.deviceBytes();
        }
        return n;
    }

    @Override
    public void close() {
        try {
            stream.synchronize();
        } catch (RuntimeException ignored) {
            // closing anyway
        }
        RuntimeException first = null;
        List<AutoCloseable> all = new ArrayList<>(plans);
        all.addAll(attached.values());
        all.addAll(List.of(dnn, blas, kernels, stream, device));
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                if (first == null) {
                    first = r;
                } else {
                    first.addSuppressed(r);
                }
            }
        }
        attached.clear();
        order.clear();
        plans.clear();
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "CUDA session on " + summary + (tf32 ? "" : "");
    }
}
