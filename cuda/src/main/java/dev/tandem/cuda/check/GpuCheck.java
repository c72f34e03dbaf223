package dev.tandem.cuda.check;

import dev.tandem.cuda.CudaLibraries;
import dev.tandem.cuda.CudaProbe;
import dev.tandem.cuda.blas.Cublas;
import dev.tandem.cuda.blas.CublasHandle;
import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.cuda.dnn.ConvShape;
import dev.tandem.cuda.dnn.CudnnConvolution;
import dev.tandem.cuda.dnn.CudnnHandle;
import dev.tandem.cuda.driver.CudaDevice;
import dev.tandem.cuda.driver.CudaEvent;
import dev.tandem.cuda.driver.CudaGraph;
import dev.tandem.cuda.driver.CudaGraphExec;
import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.cuda.driver.PinnedBuffer;
import dev.tandem.cuda.kernels.KernelCompiler;
import dev.tandem.cuda.kernels.KernelLibrary;
import dev.tandem.cuda.kernels.KernelSources;
import dev.tandem.cuda.kernels.PtxCache;
import dev.tandem.cuda.nvrtc.NvrtcPtxCompiler;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The self-check of the CUDA backend on a GPU machine, runnable with a plain {@code java -cp} (no Maven, no
 * network): finds and loads the libraries, then checks the bindings end to end against CPU references (device
 * memory, NVRTC compilation and every kernel case, a CUDA graph, cuBLAS SGEMM in float32, TF32 and bfloat16,
 * cuDNN convolutions forward and backward) and measures a few figures (launch latency, SGEMM throughput, copy
 * bandwidth). Prints a PASS/FAIL table last.
 *
 * <p>Exit codes: {@value #EXIT_OK} all passed; {@value #EXIT_FAILED} a check failed; {@value #EXIT_USAGE} bad
 * arguments; {@value #EXIT_NO_GPU} no usable GPU (the first line says why: {@code no GPU: <reason>}).
 *
 * <p>Options: {@code --quick} (no measurements), {@code --ptx-cache DIR}. Libraries are found as everywhere
 * ({@code -Dtandem.cuda.libcuda=...}, {@code CUDA_HOME}, ...).
 */
public final class GpuCheck {
    /** Every check passed. */
    public static final int EXIT_OK = 0;
    /** At least one check failed. */
    public static final int EXIT_FAILED = 1;
    /** Unknown arguments. */
    public static final int EXIT_USAGE = 2;
    /** No usable GPU or a CUDA library is missing. */
    public static final int EXIT_NO_GPU = 3;

    private final PrintStream out;
    private final List<CheckRow> rows = new ArrayList<>();
    /** Why bfloat16 is not checked here (a GPU before Ampere), or null. */
    private String noBf16;

    private GpuCheck(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args, BackendEnvironment.system(), System.out));
    }

    /** Runs the check with the given settings, printing to {@code out}; returns the exit code. */
    public static int run(String[] args, BackendEnvironment env, PrintStream out) {
        boolean quick = false;
        Path ptxCache = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--ptx-cache" -> {
                    if (i + 1 >= args.length) {
                        out.println("usage: GpuCheck [--quick] [--ptx-cache DIR]");
                        return EXIT_USAGE;
                    }
                    ptxCache = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    out.println("usage: GpuCheck [--quick] [--ptx-cache DIR]; exit codes: 0 pass, 1 fail, 3 no GPU");
                    return EXIT_OK;
                }
                default -> {
                    out.println("unknown argument '" + args[i] + "'; usage: GpuCheck [--quick] [--ptx-cache DIR]");
                    return EXIT_USAGE;
                }
            }
        }
        CudaLibraries libs = new CudaLibraries(new LibrarySearch(env));
        BackendProbe probe = CudaProbe.probe(libs);
        if (!probe.available()) {
            out.println("no GPU: " + probe.summary());
            probe.details().forEach(d -> out.println("  " + d));
            out.flush();
            return EXIT_NO_GPU;
        }
        out.println("Tandem GPU check on " + probe.summary() + " (Java " + Runtime.version() + ")");
        probe.details().forEach(d -> out.println("  " + d));
        GpuCheck c = new GpuCheck(out);
        try {
            dev.tandem.cuda.exec.CudaSession.requireBfloat16(CudaProbe.device(libs.driver(), 0));
        } catch (IllegalStateException e) {
            c.noBf16 = e.getMessage();
            c.rows.add(new CheckRow("bfloat16 checks", "INFO", 0, "not run: " + e.getMessage()));
        }
        c.runAll(libs, ptxCache != null ? new PtxCache(ptxCache) : PtxCache.fromEnvironment(env), quick);
        c.runExecutor(ptxCache != null ? env.withProperty("tandem.cuda.ptxCache", ptxCache.toString()) : env);
        return c.report(probe.summary());
    }

    private void row(String name, Supplier<Outcome> body) {
        long t0 = System.nanoTime();
        CheckRow r;
        try {
            Outcome o = body.get();
            r = new CheckRow(name, o.passed() ? "PASS" : "FAIL", (System.nanoTime() - t0) / 1_000_000, o.detail());
        } catch (RuntimeException | LinkageError | AssertionError e) {
            r = new CheckRow(name, "FAIL", (System.nanoTime() - t0) / 1_000_000, describe(e));
        }
        rows.add(r);
        out.println("[" + r.status() + "] " + r.name() + " (" + r.millis() + " ms): " + r.detail());
        out.flush();
    }

    private void info(String name, Supplier<String> body) {
        long t0 = System.nanoTime();
        String status = "INFO";
        String detail;
        try {
            detail = body.get();
        } catch (RuntimeException | LinkageError e) {
            status = "FAIL";
            detail = describe(e);
        }
        CheckRow r = new CheckRow(name, status, (System.nanoTime() - t0) / 1_000_000, detail);
        rows.add(r);
        out.println("[" + r.status() + "] " + r.name() + " (" + r.millis() + " ms): " + r.detail());
        out.flush();
    }

    /** A CUDA failure's own message names the call and the error; anything else also needs its type. */
    private static String describe(Throwable e) {
        return e instanceof dev.tandem.cuda.CudaException && e.getMessage() != null ? e.getMessage() : e.toString();
    }

    private void runAll(CudaLibraries libs, PtxCache cache, boolean quick) {
        CudaDevice device;
        try {
            device = CudaDevice.open(libs.driver(), 0);
        } catch (RuntimeException e) {
            rows.add(new CheckRow("open device 0", "FAIL", 0, describe(e)));
            return;
        }
        try (device; CudaStream stream = device.createStream()) {
            row("device memory round trip", () -> memory(device, stream));
            KernelLibrary[] kernels = new KernelLibrary[1];
            row("NVRTC: compile and load kernels", () -> {
                NvrtcPtxCompiler compiler = new NvrtcPtxCompiler(libs.nvrtc());
                kernels[0] = new KernelLibrary(device, KernelSources.load(), new KernelCompiler(compiler, cache));
                return Outcome.ok(KernelSources.FILES.size() + " sources for " + device.virtualArch() + " with "
                        + compiler.version() + ", " + kernels[0].sourcesFromCache() + " from the cache in "
                        + cache.folder());
            });
            if (kernels[0] != null) {
                try (KernelLibrary lib = kernels[0]) {
                    for (KernelCases.Case c : KernelCases.all()) {
                        row("kernel: " + c.name(), () -> {
                            try (DeviceKernelRunner r = new DeviceKernelRunner(device, lib, stream, 256)) {
                                return c.run(r);
                            }
                        });
                    }
                    row("CUDA graph: capture and replay", () -> graph(device, lib, stream));
                    if (!quick) {
                        info("launch latency (from Java)", () -> launchLatency(device, lib, stream));
                    }
                }
            } else {
                rows.add(new CheckRow("kernels", "FAIL", 0, "not run: the kernel library did not load"));
            }
            CublasHandle[] blas = new CublasHandle[2];
            row("cuBLAS: create handles", () -> {
                Cublas cublas = libs.cublas();
                blas[0] = new CublasHandle(cublas, stream, false);
                blas[1] = new CublasHandle(cublas, stream, true);
                return Outcome.ok("cuBLAS " + blas[0].version() + " from " + cublas.library().file());
            });
            if (blas[0] != null) {
                try (CublasHandle fp32 = blas[0]; CublasHandle tf32 = blas[1]) {
                    row("cuBLAS SGEMM float32 (4 shapes, transposes)", () -> sgemm(device, fp32, 1e-5));
                    row("cuBLAS SGEMM TF32 (4 shapes, transposes)", () -> sgemm(device, tf32, 4e-3));
                    if (noBf16 == null) {
                        row("cuBLAS GemmEx bfloat16 in, float32 out", () -> gemmBf16(device, fp32));
                    }
                    if (!quick) {
                        info("SGEMM 4096^3 throughput", () -> sgemmThroughput(device, fp32, tf32, stream));
                    }
                }
            }
            CudnnHandle[] dnn = new CudnnHandle[1];
            row("cuDNN: create handle", () -> {
                dnn[0] = new CudnnHandle(libs.cudnn(), stream, false, 256L << 20);
                return Outcome.ok("cuDNN " + dnn[0].version() + " from " + libs.cudnn().library().file());
            });
            if (dnn[0] != null) {
                try (CudnnHandle h = dnn[0]) {
                    row("cuDNN conv 3x3 pad 1 (FashionNet layer 2)", () -> conv(device, h,
                            new ConvShape(4, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
                    row("cuDNN conv 3x3 stride 2, odd sizes", () -> conv(device, h,
                            new ConvShape(2, 3, 9, 7, 5, 3, 3, 1, 1, 2, 2, 1, 1, 1)));
                }
                CudnnHandle[] half = new CudnnHandle[1];
                if (noBf16 == null) {
                    row("cuDNN conv bfloat16 (3 passes, FashionNet layer 2)", () -> {
                        half[0] = new CudnnHandle(libs.cudnn(), stream, true, true, 256L << 20, false);
                        return convBf16(device, half[0], new ConvShape(4, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1,
                                1));
                    });
                }
                if (half[0] != null) {
                    try (CudnnHandle h = half[0]) {
                        row("cuDNN conv bfloat16, stride 2, odd sizes", () -> convBf16(device, h,
                                new ConvShape(2, 3, 9, 7, 5, 3, 3, 1, 1, 2, 2, 1, 1, 1)));
                    }
                }
            }
            if (!quick) {
                info("host to device copy (pinned)", () -> bandwidth(device, stream));
            }
            out.println("loaded: " + String.join("; ", libs.loaded()));
        } catch (RuntimeException e) {
            rows.add(new CheckRow("device teardown", "FAIL", 0, e.toString()));
        }
    }

    /** Every op of the executor against the CPU backend, in a float32 session (no TF32). */
    private void runExecutor(BackendEnvironment env) {
        dev.tandem.cuda.exec.CudaSession session;
        try {
            session = dev.tandem.cuda.exec.CudaSession.open(env, false, true);
        } catch (RuntimeException e) {
            rows.add(new CheckRow("executor: open a session", "FAIL", 0, describe(e)));
            return;
        }
        try (session; dev.tandem.runtime.exec.ThreadPool pool = new dev.tandem.runtime.exec.ThreadPool(2)) {
            for (OpParity.Case c : OpParity.all()) {
                row("op: " + c.name(), () -> OpParity.run(c, session, pool));
            }
        }
        // The same ops in a bfloat16 mixed-precision session, where convolutions and matrix products take bfloat16
        // copies of their operands (the executor's staging and casts, not only cuDNN's), on inputs rounded to
        // bfloat16 beforehand (OpParity.roundedToBf16): what is left is a convolution result's own rounding to
        // bfloat16 (at most 2^-8 of it, before a bias below 1 is added) and summation order; OpParityBf16Test holds
        // a CPU model of that arithmetic to these bounds.
        if (noBf16 != null) {
            return;
        }
        dev.tandem.cuda.exec.CudaSession half;
        try {
            half = dev.tandem.cuda.exec.CudaSession.open(env, true, true, true);
        } catch (RuntimeException e) {
            rows.add(new CheckRow("executor: open a bfloat16 session", "FAIL", 0, describe(e)));
            return;
        }
        try (half; dev.tandem.runtime.exec.ThreadPool pool = new dev.tandem.runtime.exec.ThreadPool(2)) {
            for (OpParity.Case c : OpParity.all()) {
                if (!java.util.Set.of("Conv", "ConvGradInput", "ConvGradWeight", "Gemm", "MatMul").contains(c.type())) {
                    continue;
                }
                OpParity.Case rounded = OpParity.roundedToBf16(c, 1e-2, 8e-3);
                row("op (bfloat16 session): " + c.name(), () -> OpParity.run(rounded, half, pool));
            }
        }
    }

    private int report(String device) {
        long failed = rows.stream().filter(CheckRow::failed).count();
        long passed = rows.stream().filter(r -> r.status().equals("PASS")).count();
        out.println();
        out.println("== Tandem GPU check: " + device + " ==");
        out.println(String.format(Locale.ROOT, "%-46s %-6s %8s  %s", "check", "result", "time", "detail"));
        for (CheckRow r : rows) {
            String d = r.detail().length() > 110 ? r.detail().substring(0, 107) + "..." : r.detail();
            out.println(String.format(Locale.ROOT, "%-46s %-6s %6d ms  %s", r.name(), r.status(), r.millis(), d));
        }
        out.println(failed == 0 ? "RESULT: PASS (" + passed + " checks)" : "RESULT: FAIL (" + failed + " of "
                + (passed + failed) + " checks failed)");
        out.flush();
        return failed == 0 ? EXIT_OK : EXIT_FAILED;
    }

    // ---- checks ----

    private static Outcome memory(CudaDevice device, CudaStream stream) {
        int n = 1 << 20;
        float[] x = KernelCases.random(new SplittableRandom(1), n, -1, 1);
        try (DeviceBuffer a = device.allocate(4L * n); DeviceBuffer b = device.allocate(4L * n);
             PinnedBuffer pinned = device.allocatePinned(4L * n)) {
            a.copyFrom(x);
            b.copyFrom(a);
            float[] back = b.toFloats(n);
            b.fill(Float.floatToRawIntBits(2.5f));
            b.copyToAsync(pinned, stream);
            stream.synchronize();
            float[] filled = pinned.segment().toArray(ValueLayout.JAVA_FLOAT);
            double[] want = new double[n];
            double[] twos = new double[n];
            for (int i = 0; i < n; i++) {
                want[i] = x[i];
                twos[i] = 2.5;
            }
            long[] info = device.driver().memoryInfo();
            return Outcome.compare("HtoD, DtoD, DtoH of 4 MiB", back, want, 0, 0)
                    .and(Outcome.compare("memset + async DtoH to pinned", filled, twos, 0, 0))
                    .and(Outcome.ok(String.format(Locale.ROOT, "%.1f of %.1f GiB free", info[0] / 1073741824.0,
                            info[1] / 1073741824.0)));
        }
    }

    private static Outcome graph(CudaDevice device, KernelLibrary lib, CudaStream stream) {
        int n = 4099;
        float[] x = KernelCases.random(new SplittableRandom(2), n, -1, 1);
        try (DeviceBuffer dx = device.allocate(4L * n); DeviceBuffer dy = device.allocate(4L * n);
             Arena a = Arena.ofConfined()) {
            dx.copyFrom(x);
            dy.fill(0);
            Dim3 grid = Dim3.cover(n, 256), block = Dim3.of(256);
            // One launch before capturing, so that nothing is looked up while the stream records.
            lib.launch("tandem_axpy", grid, block, stream, new KernelArgs(a).f32(0f).buffer(dx).buffer(dy).i64(n));
            stream.synchronize();
            stream.beginCapture();
            CudaGraph g;
            try {
                lib.launch("tandem_axpy", grid, block, stream, new KernelArgs(a).f32(1f).buffer(dx).buffer(dy).i64(n));
                lib.launch("tandem_axpy", grid, block, stream, new KernelArgs(a).f32(2f).buffer(dx).buffer(dy).i64(n));
            } finally {
                g = stream.endCapture();
            }
            try (g; CudaGraphExec exec = g.instantiate()) {
                stream.synchronize();
                float[] untouched = dy.toFloats(n);
                for (int i = 0; i < 3; i++) {
                    exec.launch(stream);
                }
                stream.synchronize();
                double[] want = new double[n];
                for (int i = 0; i < n; i++) {
                    want[i] = 9.0 * x[i];
                }
                return Outcome.compare("capture does not run", untouched, new double[n], 0, 0)
                        .and(Outcome.compare("3 replays of 2 kernels", dy.toFloats(n), want, 1e-6, 1e-6));
            }
        }
    }

    private static String launchLatency(CudaDevice device, KernelLibrary lib, CudaStream stream) {
        int launches = 2000;
        try (DeviceBuffer a = device.allocate(4); DeviceBuffer y = device.allocate(4); Arena arena = Arena.ofConfined();
             CudaEvent start = device.createEvent(true); CudaEvent end = device.createEvent(true)) {
            a.fill(0);
            KernelArgs args = new KernelArgs(arena).buffer(a).buffer(a).buffer(y).i64(1);
            for (int i = 0; i < 100; i++) {
                lib.launch("tandem_add", Dim3.of(1), Dim3.of(32), stream, args);
            }
            stream.synchronize();
            long t0 = System.nanoTime();
            start.record(stream);
            for (int i = 0; i < launches; i++) {
                lib.launch("tandem_add", Dim3.of(1), Dim3.of(32), stream, args);
            }
            end.record(stream);
            long host = System.nanoTime() - t0;
            end.synchronize();
            return String.format(Locale.ROOT, "%.2f us per launch on the host, %.2f us per kernel on the GPU "
                    + "(%d launches of a 1-element kernel)", host / 1e3 / launches, end.millisSince(start) * 1e3
                    / launches, launches);
        }
    }

    private static final int[][] GEMM_SHAPES = {{37, 53, 29, 0, 0}, {64, 33, 17, 1, 0}, {19, 31, 45, 0, 1},
        {128, 96, 200, 1, 1}};

    private static Outcome sgemm(CudaDevice device, CublasHandle h, double rel) {
        Outcome o = null;
        SplittableRandom rnd = new SplittableRandom(3);
        for (int[] s : GEMM_SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            boolean ta = s[3] == 1, tb = s[4] == 1;
            float[] a = KernelCases.random(rnd, m * k, -1, 1), b = KernelCases.random(rnd, k * n, -1, 1);
            try (DeviceBuffer da = device.allocate(4L * a.length); DeviceBuffer db = device.allocate(4L * b.length);
                 DeviceBuffer dc = device.allocate(4L * m * n)) {
                da.copyFrom(a);
                db.copyFrom(b);
                dc.fill(0);
                h.gemm(ta, tb, m, n, k, 1f, da, db, 0f, dc);
                device.synchronize();
                Outcome one = Outcome.compareScaled(String.format(Locale.ROOT, "%dx%dx%d%s%s", m, n, k, ta ? " A^T" : "",
                        tb ? " B^T" : ""), dc.toFloats(m * n), KernelReference.gemm(ta, tb, m, n,
                        k, a, b), KernelReference.gemmMagnitude(ta, tb, m, n, k, a, b), rel);
                o = o == null ? one : o.and(one);
            }
        }
        return o;
    }

    private static Outcome gemmBf16(CudaDevice device, CublasHandle h) {
        int m = 48, n = 40, k = 72;
        SplittableRandom rnd = new SplittableRandom(4);
        float[] a = KernelCases.random(rnd, m * k, -1, 1), b = KernelCases.random(rnd, k * n, -1, 1);
        short[] ab = new short[a.length], bb = new short[b.length];
        float[] ar = new float[a.length], br = new float[b.length];
        for (int i = 0; i < a.length; i++) {
            ab[i] = KernelReference.toBf16(a[i]);
            ar[i] = KernelReference.fromBf16(ab[i]);
        }
        for (int i = 0; i < b.length; i++) {
            bb[i] = KernelReference.toBf16(b[i]);
            br[i] = KernelReference.fromBf16(bb[i]);
        }
        try (DeviceBuffer da = device.allocate(2L * a.length); DeviceBuffer db = device.allocate(2L * b.length);
             DeviceBuffer dc = device.allocate(4L * m * n)) {
            da.copyFrom(ab);
            db.copyFrom(bb);
            dc.fill(0);
            h.gemmBf16(false, false, m, n, k, 1f, da, db, 0f, dc);
            device.synchronize();
            // Products of bfloat16 values are exact in float32; only the float32 accumulation rounds.
            return Outcome.compareScaled("48x40x72 on bfloat16-rounded inputs", dc.toFloats(m * n),
                    KernelReference.gemm(false, false, m, n, k, ar, br), KernelReference.gemmMagnitude(false, false,
                            m, n, k, ar, br), 1e-5);
        }
    }

    private static String sgemmThroughput(CudaDevice device, CublasHandle fp32, CublasHandle tf32,
                                          CudaStream stream) {
        int s = 4096;
        long bytes = 4L * s * s;
        try (DeviceBuffer a = device.allocate(bytes); DeviceBuffer b = device.allocate(bytes);
             DeviceBuffer c = device.allocate(bytes); CudaEvent start = device.createEvent(true);
             CudaEvent end = device.createEvent(true)) {
            a.fill(Float.floatToRawIntBits(0.001f));
            b.fill(Float.floatToRawIntBits(0.001f));
            StringBuilder sb = new StringBuilder();
            for (CublasHandle h : new CublasHandle[] {fp32, tf32}) {
                h.gemm(false, false, s, s, s, 1f, a, b, 0f, c);
                start.record(stream);
                int reps = 5;
                for (int i = 0; i < reps; i++) {
                    h.gemm(false, false, s, s, s, 1f, a, b, 0f, c);
                }
                end.record(stream);
                end.synchronize();
                double tflops = 2.0 * s * s * s * reps / (end.millisSince(start) / 1e3) / 1e12;
                sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f TFLOP/s %s", tflops,
                        h == fp32 ? "float32" : "TF32"));
            }
            return sb.toString();
        }
    }

    private static Outcome conv(CudaDevice device, CudnnHandle h, ConvShape s) {
        return conv(device, h, s, false);
    }

    /**
     * The three passes with bfloat16 data (what {@code tandem.cuda.precision=bf16} runs): inputs rounded to bfloat16
     * here, results compared with the float64 reference on those rounded inputs. cuDNN accumulates in float32 and
     * rounds each result to bfloat16 (8 significant bits: up to 2^-8 = 3.9e-3 relative), hence the bound of 8e-3
     * of the terms' magnitude.
     */
    private static Outcome convBf16(CudaDevice device, CudnnHandle h, ConvShape s) {
        return conv(device, h, s, true);
    }

    private static Outcome conv(CudaDevice device, CudnnHandle h, ConvShape s, boolean bf16) {
        SplittableRandom rnd = new SplittableRandom(bf16 ? 6 : 5);
        KernelReference.Conv g = new KernelReference.Conv(s.n(), s.c(), s.h(), s.w(), s.k(), s.r(), s.s(), s.padH(),
                s.strideH());
        float[] x = KernelCases.random(rnd, (int) s.inputElements(), -1, 1);
        float[] w = KernelCases.random(rnd, (int) s.weightElements(), -1, 1);
        float[] dy = KernelCases.random(rnd, (int) s.outputElements(), -1, 1);
        if (bf16) {
            x = bf16Rounded(x);
            w = bf16Rounded(w);
            dy = bf16Rounded(dy);
        }
        int size = bf16 ? 2 : 4;
        double tol = bf16 ? 8e-3 : 1e-5;
        CudnnConvolution plan = h.convolution(s);
        try (DeviceBuffer dx = device.allocate(size * s.inputElements());
             DeviceBuffer dw = device.allocate(size * s.weightElements());
             DeviceBuffer dyb = device.allocate(size * s.outputElements());
             DeviceBuffer y = device.allocate(size * s.outputElements());
             DeviceBuffer gx = device.allocate(size * s.inputElements());
             DeviceBuffer gw = device.allocate(size * s.weightElements());
             DeviceBuffer ws = device.allocate(Math.max(4, plan.workspaceBytes()))) {
            upload(dx, x, bf16);
            upload(dw, w, bf16);
            upload(dyb, dy, bf16);
            plan.forward(dx, dw, y, ws);
            plan.backwardData(dw, dyb, gx, ws);
            plan.backwardFilter(dx, dyb, gw, ws, false);
            device.synchronize();
            AlgoNames names = new AlgoNames(plan);
            return Outcome.compareScaled("forward", download(y, (int) s.outputElements(), bf16),
                    KernelReference.conv(x, w, g, false), KernelReference.conv(x, w, g, true), tol)
                    .and(Outcome.compareScaled("backward data", download(gx, (int) s.inputElements(), bf16),
                            KernelReference.convGradInput(dy, w, g, false), KernelReference.convGradInput(dy, w, g,
                                    true), tol))
                    .and(Outcome.compareScaled("backward filter", download(gw, (int) s.weightElements(), bf16),
                            KernelReference.convGradWeight(x, dy, g, false), KernelReference.convGradWeight(x, dy, g,
                                    true), tol))
                    .and(Outcome.ok(names.toString()));
        }
    }

    private static void upload(DeviceBuffer to, float[] v, boolean bf16) {
        if (!bf16) {
            to.copyFrom(v);
            return;
        }
        short[] h = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            h[i] = KernelReference.toBf16(v[i]);
        }
        to.copyFrom(h);
    }

    private static float[] download(DeviceBuffer from, int count, boolean bf16) {
        if (!bf16) {
            return from.toFloats(count);
        }
        short[] h = from.toShorts(count);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = KernelReference.fromBf16(h[i]);
        }
        return out;
    }

    private static float[] bf16Rounded(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = KernelReference.fromBf16(KernelReference.toBf16(v[i]));
        }
        return out;
    }

    /** The algorithms cuDNN chose, for the report. */
    private record AlgoNames(CudnnConvolution plan) {
        @Override
        public String toString() {
            var a = plan.algorithms();
            return "algorithms fwd " + a[0].algo() + ", bwd data " + a[1].algo() + ", bwd filter " + a[2].algo()
                    + ", workspace " + plan.workspaceBytes() + " B";
        }
    }

    private static String bandwidth(CudaDevice device, CudaStream stream) {
        long bytes = 256L << 20;
        try (PinnedBuffer host = device.allocatePinned(bytes); DeviceBuffer d = device.allocate(bytes);
             CudaEvent start = device.createEvent(true); CudaEvent end = device.createEvent(true)) {
            d.copyFromAsync(host, stream);
            start.record(stream);
            d.copyFromAsync(host, stream);
            end.record(stream);
            end.synchronize();
            return String.format(Locale.ROOT, "%.1f GB/s (256 MiB)", bytes / (end.millisSince(start) / 1e3) / 1e9);
        }
    }
}
