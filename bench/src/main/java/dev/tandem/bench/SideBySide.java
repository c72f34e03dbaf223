package dev.tandem.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.JitSettle;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.kernels.Simd;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs one ONNX model (or every {@code .onnx} file of a folder) in Tandem and in ONNX Runtime, in one JVM, with the
 * same thread count and the same input, and prints load time, first-run time, latency medians and p90 with the
 * Tandem/ORT ratio, whether the outputs agree, and memory figures.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp bench/target/benchmarks.jar dev.tandem.bench.SideBySide --model M.onnx|DIR \
 *      [--threads 2] [--batch 1] [--iters 50] [--warmup auto|N] [--input X.npy] [--markdown]
 *      [--only tandem|ort] [--ort-spin 0|1] [--reloads N]
 * </pre>
 *
 * <p><b>Method.</b> Both runtimes load the model (timed), run it once (the first run, timed: Tandem plans its
 * memory then, ONNX Runtime allocates), then run alternately, Tandem then ORT, for {@code warmup} untimed rounds
 * (by default until the JIT has been quiet for a second, see {@link #warmUntilCompiled}) and {@code iters} timed
 * rounds, so that machine noise falls on both alike. A run's time is the call that returns
 * the outputs plus freeing them; the input tensors are made once beforehand.
 *
 * <p><b>Load time.</b> Each runtime's one-time start in the process (ONNX Runtime: the environment, which loads its
 * native library; Tandem: its op registry) is timed apart from the first model's load and printed once. The first
 * load in a fresh process still pays for loading the classes it needs and running them interpreted (Tandem: the
 * protobuf parser and the graph passes), which ONNX Runtime's native code does not; so the fair cold-start figure
 * is start plus first load, and {@code --reloads N} also loads the model N more times (each closed first) and
 * prints the median, a load's cost once the runtime is warm.
 *
 * <p><b>Input.</b> {@code --input X.npy}, else {@code M.input.npy} next to {@code M.onnx} when present (as
 * {@code scripts/export-models.py} writes), else seeded standard-normal values in the model's input shape. With
 * {@code --batch B} a batch-1 input is repeated B times. When {@code M.output.npy} (the exporter's PyTorch output)
 * exists and fits, both runtimes are also compared with it.
 *
 * <p><b>Agreement.</b> Over every output: max |tandem − ort| and that divided by max |ort| ("scaled error"); PASS
 * when the scaled error is at most 1e-4. Both the first run's and the last timed run's outputs are compared.
 *
 * <p><b>Memory.</b> Tandem reports its weight bytes and the arena bytes of the plan for this input. For both runtimes
 * the growth of the process's resident set (VmRSS in /proc/self/status) over load plus first run is printed; both
 * live in one process, so that figure is indicative only (the JVM heap, JIT code and freed-but-kept native memory
 * blur it). {@code --only tandem} or {@code --only ort} runs a single runtime, for a separate process per runtime
 * whose peak resident set (VmHWM) can be compared fairly.
 *
 * <p>When Tandem cannot run a model (unsupported ops, or an error), that is reported and ONNX Runtime's figures
 * are still printed.
 */
public final class SideBySide {
    private static final double AGREEMENT = 1e-4;
    private static final Pattern UNSUPPORTED_OP = Pattern.compile("Unsupported op '([^']+)'");
    /** The order of docs/benchmarks.md and scripts/export-models.py; other models of a folder follow by name. */
    private static final List<String> ORDER = List.of("resnet18", "mobilenet_v2", "squeezenet1_1",
            "shufflenet_v2_x1_0", "efficientnet_b0", "resnet50", "densenet121");

    private SideBySide() {
    }

    /** Command-line settings. */
    record Settings(List<Path> models, int threads, int batch, int iters, int warmup, Path input, boolean markdown,
                    String only, boolean ortSpin, long seed, int reloads) {
        boolean tandem() {
            return only == null || only.equals("tandem");
        }

        boolean ort() {
            return only == null || only.equals("ort");
        }
    }

    /** What one runtime did with one model; times in nanoseconds. */
    static final class Side {
        final String name;
        String problem;          // null when it ran
        boolean unsupported;     // the problem is "Tandem does not support this"
        long startNanos = -1;     // the runtime's one-time start, on the process's first model only
        long loadNanos = -1;
        long[] reloadNanos = new long[0];
        long firstNanos = -1;
        long rssBefore;
        long rssAfterLoad;
        long rssAfterFirst;
        long[] samples = new long[0];
        float[][] first;
        float[][] last;

        Side(String name) {
            this.name = name;
        }

        boolean ok() {
            return problem == null;
        }

        boolean timed() {
            return ok() && samples.length > 0;
        }
    }

    /** Everything measured for one model. */
    static final class Result {
        final String model;
        final Side tandem = new Side("Tandem");
        final Side ort = new Side("ORT");
        long[] inputShape;
        long weightBytes = -1;
        long arenaBytes = -1;
        long foldedBytes = -1;
        int warmupRounds;
        double maxAbs = Double.NaN;
        double scaled = Double.NaN;
        double maxRel = Double.NaN;
        double tandemVsRef = Double.NaN;
        double ortVsRef = Double.NaN;
        long hwmStart;
        long hwmEnd;

        Result(String model) {
            this.model = model;
        }
    }

    public static void main(String[] args) throws Exception {
        Settings s = parse(args);
        Locale.setDefault(Locale.ROOT);
        System.out.printf("SideBySide %s: %d CPUs, %s, Java %s, %d-bit vectors; %d thread(s), batch %d, %s warm-up + "
                        + "%d timed rounds, %s%n", LocalDate.now(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.arch"), Runtime.version(), Simd.bits(), s.threads(), s.batch(), warmupText(s),
                s.iters(), s.only() == null ? "alternating Tandem and ONNX Runtime in one process"
                        : "only " + s.only() + " in this process");
        // Start both runtimes once, untimed: ONNX Runtime unpacks and loads its native library here, Tandem
        // registers its ops. The first model's load and first run still include class loading and JIT warm-up.
        long ortStart = -1;
        long tandemStart = -1;
        if (s.ort()) {
            long t0 = System.nanoTime();
            OrtEnvironment.getEnvironment();
            ortStart = System.nanoTime() - t0;
        }
        if (s.tandem()) {
            long t0 = System.nanoTime();
            OpRegistry.standard();
            tandemStart = System.nanoTime() - t0;
        }
        List<Result> results = new ArrayList<>();
        for (Path m : s.models()) {
            Result r = runModel(m, s);
            if (results.isEmpty()) {
                r.tandem.startNanos = tandemStart;
                r.ort.startNanos = ortStart;
            }
            results.add(r);
            printResult(r, s);
        }
        if (s.markdown()) {
            System.out.println();
            System.out.println(markdownHeader(s));
            for (Result r : results) {
                System.out.println(markdownRow(r, s));
            }
            System.out.println();
            System.out.println(markdownNotes(s));
        }
    }

    // ---- arguments

    private static Settings parse(String[] args) throws IOException {
        Path model = null;
        int threads = 2;
        int batch = 1;
        int iters = 50;
        int warmup = -1;                   // auto
        Path input = null;
        boolean markdown = false;
        String only = null;
        boolean spin = true;
        long seed = 42;
        int reloads = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--model" -> model = Path.of(value(args, ++i, a));
                case "--threads" -> threads = positive(value(args, ++i, a), a);
                case "--batch" -> batch = positive(value(args, ++i, a), a);
                case "--iters" -> iters = positive(value(args, ++i, a), a);
                case "--warmup" -> {
                    String v = value(args, ++i, a);
                    warmup = v.equals("auto") ? -1 : Integer.parseInt(v);
                }
                case "--input" -> input = Path.of(value(args, ++i, a));
                case "--markdown" -> markdown = true;
                case "--only" -> {
                    only = value(args, ++i, a);
                    if (!only.equals("tandem") && !only.equals("ort")) {
                        usage("--only takes tandem or ort");
                    }
                }
                case "--ort-spin" -> spin = !value(args, ++i, a).equals("0");
                case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                case "--reloads" -> reloads = Integer.parseInt(value(args, ++i, a));
                case "-h", "--help" -> {
                    usage(null);
                }
                default -> usage("Unknown option " + a);
            }
        }
        if (model == null) {
            usage("--model is required");
        }
        if (reloads < 0) {
            usage("--reloads must be 0 or more");
        }
        if (warmup < -1) {
            usage("--warmup must be auto or 0 or more");
        }
        List<Path> models;
        if (Files.isDirectory(model)) {
            try (Stream<Path> st = Files.list(model)) {
                models = st.filter(p -> p.getFileName().toString().endsWith(".onnx"))
                        .sorted(Comparator.comparingInt(SideBySide::rank).thenComparing(Path::getFileName))
                        .toList();
            }
            if (models.isEmpty()) {
                usage("No .onnx files in " + model);
            }
            if (input != null) {
                usage("--input needs a single --model file, not a folder");
            }
        } else if (Files.isRegularFile(model)) {
            models = List.of(model);
        } else {
            usage("No such model file or folder: " + model);
            return null;
        }
        return new Settings(models, threads, batch, iters, warmup, input, markdown, only, spin, seed, reloads);
    }

    private static int rank(Path model) {
        int i = ORDER.indexOf(model.getFileName().toString().replaceFirst("\\.onnx$", ""));
        return i < 0 ? ORDER.size() : i;
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            usage(opt + " needs a value");
        }
        return args[i];
    }

    private static int positive(String v, String opt) {
        int n = Integer.parseInt(v);
        if (n < 1) {
            usage(opt + " must be at least 1");
        }
        return n;
    }

    private static void usage(String error) {
        if (error != null) {
            System.err.println(error);
        }
        System.err.println("Usage: SideBySide --model M.onnx|DIR [--threads 2] [--batch 1] [--iters 50]"
                + " [--warmup auto|N] [--input X.npy] [--markdown] [--only tandem|ort] [--ort-spin 0|1] [--seed 42]"
                + " [--reloads N]");
        System.exit(error == null ? 0 : 2);
    }

    // ---- one model

    private static OrtSession ortSession(OrtEnvironment env, Path file, Settings s) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(s.threads());
            so.setInterOpNumThreads(1);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.addConfigEntry("session.intra_op.allow_spinning", s.ortSpin() ? "1" : "0");
            return env.createSession(file.toString(), so);
        }
    }

    private static Result runModel(Path file, Settings s) throws IOException {
        String stem = file.getFileName().toString().replaceFirst("\\.onnx$", "");
        Result r = new Result(stem);
        r.hwmStart = procStatus("VmHWM");
        System.out.println();
        System.out.printf("== %s (%s, %.1f MiB)%n", stem, file, mib(Files.size(file)));

        Model model = null;
        OrtEnvironment env = null;
        OrtSession session = null;
        Tensor tIn = null;
        OnnxTensor oIn = null;
        try {
            // Tandem: load.
            if (s.tandem()) {
                gc();
                r.tandem.rssBefore = procStatus("VmRSS");
                long t0 = System.nanoTime();
                try {
                    model = Model.load(file, Model.Options.defaults().withThreads(s.threads()));
                    r.tandem.loadNanos = System.nanoTime() - t0;
                    r.tandem.reloadNanos = new long[s.reloads()];
                    for (int i = 0; i < s.reloads(); i++) {
                        model.close();
                        model = null;
                        long t1 = System.nanoTime();
                        model = Model.load(file, Model.Options.defaults().withThreads(s.threads()));
                        r.tandem.reloadNanos[i] = System.nanoTime() - t1;
                    }
                    r.weightBytes = model.weightBytes();
                } catch (UnsupportedModelException e) {
                    r.tandem.unsupported = true;
                    r.tandem.problem = describeUnsupported(e);
                } catch (RuntimeException | Error e) {
                    r.tandem.problem = "load failed: " + oneLine(e);
                }
                r.tandem.rssAfterLoad = procStatus("VmRSS");
            } else {
                r.tandem.problem = "not run (--only ort)";
            }
            // ONNX Runtime: load.
            if (s.ort()) {
                gc();
                r.ort.rssBefore = procStatus("VmRSS");
                long t0 = System.nanoTime();
                try {
                    env = OrtEnvironment.getEnvironment();
                    session = ortSession(env, file, s);
                    r.ort.loadNanos = System.nanoTime() - t0;
                    r.ort.reloadNanos = new long[s.reloads()];
                    for (int i = 0; i < s.reloads(); i++) {
                        session.close();
                        session = null;
                        long t1 = System.nanoTime();
                        session = ortSession(env, file, s);
                        r.ort.reloadNanos[i] = System.nanoTime() - t1;
                    }
                } catch (OrtException | RuntimeException e) {
                    r.ort.problem = "load failed: " + oneLine(e);
                }
                r.ort.rssAfterLoad = procStatus("VmRSS");
            } else {
                r.ort.problem = "not run (--only tandem)";
            }
            if (model == null && session == null) {
                return r;
            }

            // The input: shape and name from whichever runtime loaded.
            String inName;
            long[] declared;
            if (session != null) {
                if (session.getNumInputs() != 1) {
                    throw new IllegalStateException("only single-input models are supported; " + stem + " has "
                            + session.getNumInputs());
                }
                Map.Entry<String, NodeInfo> e = session.getInputInfo().entrySet().iterator().next();
                inName = e.getKey();
                declared = ((TensorInfo) e.getValue().getInfo()).getShape();
            } else {
                if (model.inputs().size() != 1) {
                    throw new IllegalStateException("only single-input models are supported; " + stem + " has "
                            + model.inputs().size());
                }
                Model.IoInfo io = model.inputs().get(0);
                inName = io.name();
                TensorType t = io.type();
                declared = t == null || t.dims() == null ? new long[] {-1, 3, 224, 224} : t.dims().clone();
            }
            Path inputFile = s.input() != null ? s.input() : sibling(file, stem + ".input.npy");
            NpyFloats in = makeInput(inputFile, declared, s);
            r.inputShape = in.shape();
            System.out.println("input '" + inName + "' " + Arrays.toString(in.shape())
                    + (inputFile != null && Files.exists(inputFile) ? " from " + inputFile : " (seeded random)"));

            if (model != null) {
                tIn = Tensor.allocate(DType.FLOAT32, Shape.of(toInts(in.shape())));
                tIn.copyFrom(in.values());
            }
            if (session != null) {
                FloatBuffer fb = ByteBuffer.allocateDirect(in.values().length * 4).order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
                fb.put(in.values()).rewind();
                oIn = OnnxTensor.createTensor(env, fb, in.shape());
            }
            Map<String, Tensor> tFeed = tIn == null ? null : Map.of(inName, tIn);
            Map<String, OnnxTensor> oFeed = oIn == null ? null : Map.of(inName, oIn);

            // First runs.
            if (model != null) {
                long t0 = System.nanoTime();
                try {
                    r.tandem.first = runTandem(model, tFeed, true);
                    r.tandem.firstNanos = System.nanoTime() - t0;
                    var plan = model.plan(Map.of(inName, Shape.of(toInts(in.shape()))));
                    r.arenaBytes = plan.arenaBytes();
                    r.foldedBytes = plan.foldedBytes();
                } catch (UnsupportedModelException e) {
                    r.tandem.unsupported = true;
                    r.tandem.problem = describeUnsupported(e);
                } catch (RuntimeException | Error e) {
                    r.tandem.problem = "first run failed: " + oneLine(e);
                }
                r.tandem.rssAfterFirst = procStatus("VmRSS");
                if (!r.tandem.ok()) {
                    model.close();
                    model = null;
                }
            }
            if (session != null) {
                long t0 = System.nanoTime();
                try {
                    r.ort.first = runOrt(session, oFeed, true);
                    r.ort.firstNanos = System.nanoTime() - t0;
                } catch (OrtException | RuntimeException e) {
                    r.ort.problem = "first run failed: " + oneLine(e);
                }
                r.ort.rssAfterFirst = procStatus("VmRSS");
                if (!r.ort.ok()) {
                    session.close();
                    session = null;
                }
            }

            // Alternating rounds: warm-up (a count, or until the JIT is quiet), then the timed ones.
            long[] tS = new long[s.iters()];
            long[] oS = new long[s.iters()];
            long[] pair = new long[2];
            if (s.warmup() >= 0) {
                for (int i = 0; i < s.warmup(); i++) {
                    alternate(r, model, tFeed, session, oFeed, false, pair);
                }
                r.warmupRounds = s.warmup();
            } else {
                Model m = model;
                OrtSession os = session;
                r.warmupRounds = warmUntilCompiled(() -> alternate(r, m, tFeed, os, oFeed, false, pair), m != null);
            }
            for (int i = 0; i < s.iters(); i++) {
                alternate(r, model, tFeed, session, oFeed, i == s.iters() - 1, pair);
                tS[i] = pair[0];
                oS[i] = pair[1];
            }
            if (model != null) {
                r.tandem.samples = tS;
            }
            if (session != null) {
                r.ort.samples = oS;
            }

            // Agreement.
            if (r.tandem.ok() && r.ort.ok()) {
                double[] a = compare(r.tandem.first, r.ort.first);
                double[] b = compare(r.tandem.last, r.ort.last);
                r.maxAbs = Math.max(a[0], b[0]);
                r.scaled = Math.max(a[1], b[1]);
                r.maxRel = Math.max(a[2], b[2]);
            }
            Path refFile = s.input() == null ? sibling(file, stem + ".output.npy") : null;
            if (refFile != null && Files.exists(refFile)) {
                float[] ref = reference(refFile, s.batch());
                if (r.tandem.ok()) {
                    r.tandemVsRef = scaledAgainst(r.tandem.first[0], ref);
                }
                if (r.ort.ok()) {
                    r.ortVsRef = scaledAgainst(r.ort.first[0], ref);
                }
            }
        } catch (OrtException | RuntimeException | IOException e) {
            System.out.println("error: " + oneLine(e));
        } finally {
            if (tIn != null) {
                tIn.close();
            }
            if (oIn != null) {
                oIn.close();
            }
            if (model != null) {
                model.close();
            }
            if (session != null) {
                try {
                    session.close();
                } catch (OrtException e) {
                    System.out.println("ORT close failed: " + oneLine(e));
                }
            }
            r.hwmEnd = procStatus("VmHWM");
        }
        return r;
    }

    /** One round: Tandem, then ONNX Runtime (whichever is loaded); their times to {@code nanos[0..1]}. */
    private static void alternate(Result r, Model model, Map<String, Tensor> tFeed, OrtSession session,
                                  Map<String, OnnxTensor> oFeed, boolean keep, long[] nanos) {
        if (model != null) {
            long t0 = System.nanoTime();
            float[][] out = runTandem(model, tFeed, keep);
            nanos[0] = System.nanoTime() - t0;
            if (keep) {
                r.tandem.last = out;
            }
        }
        if (session != null) {
            try {
                long t0 = System.nanoTime();
                float[][] out = runOrt(session, oFeed, keep);
                nanos[1] = System.nanoTime() - t0;
                if (keep) {
                    r.ort.last = out;
                }
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime run failed: " + oneLine(e), e);
            }
        }
    }

    /**
     * {@code --warmup auto}: rounds until the JIT has completed no compilation for a second (at most 60 s; 10
     * rounds when Tandem is not in this process, since ONNX Runtime needs no JIT). C2 compiles Tandem's kernels for
     * seconds after the first hundreds of runs and takes a core meanwhile: medians timed before that were up to 1.5
     * times the settled ones on two cores (docs/benchmarks.md, "Tenth session").
     */
    private static int warmUntilCompiled(Runnable round, boolean tandem) {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (!tandem || jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            for (int i = 0; i < 10; i++) {
                round.run();
            }
            return 10;
        }
        return JitSettle.runUntilQuiet(round, jit::getTotalCompilationTime, 1_000_000_000L, 60_000_000_000L);
    }

    private static float[][] runTandem(Model model, Map<String, Tensor> feed, boolean copy) {
        Map<String, Tensor> out = model.run(feed);
        float[][] values = copy ? new float[out.size()][] : null;
        int i = 0;
        for (Tensor t : out.values()) {
            if (copy) {
                values[i++] = t.dtype() == DType.FLOAT32 ? t.toFloatArray() : new float[0];
            }
            t.close();
        }
        return values;
    }

    private static float[][] runOrt(OrtSession session, Map<String, OnnxTensor> feed, boolean copy)
            throws OrtException {
        try (OrtSession.Result out = session.run(feed)) {
            if (!copy) {
                return null;
            }
            float[][] values = new float[out.size()][];
            for (int i = 0; i < out.size(); i++) {
                OnnxValue v = out.get(i);
                if (v instanceof OnnxTensor t && t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
                    FloatBuffer fb = t.getFloatBuffer();
                    values[i] = new float[fb.remaining()];
                    fb.get(values[i]);
                } else {
                    values[i] = new float[0];
                }
            }
            return values;
        }
    }

    /** The input: from the file when there is one (repeated to the batch), else seeded normal values. */
    private static NpyFloats makeInput(Path file, long[] declared, Settings s) throws IOException {
        if (file != null && Files.exists(file)) {
            NpyFloats x = NpyFloats.read(file);
            if (s.batch() == 1 || x.shape().length == 0) {
                return x;
            }
            if (x.shape()[0] != 1) {
                if (x.shape()[0] == s.batch()) {
                    return x;
                }
                throw new IOException(file + " has batch " + x.shape()[0] + "; --batch " + s.batch()
                        + " needs batch 1 (repeated) or " + s.batch());
            }
            long[] shape = x.shape().clone();
            shape[0] = s.batch();
            float[] v = new float[x.values().length * s.batch()];
            for (int b = 0; b < s.batch(); b++) {
                System.arraycopy(x.values(), 0, v, b * x.values().length, x.values().length);
            }
            return new NpyFloats(shape, v);
        }
        long[] shape = declared.clone();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                shape[i] = i == 0 ? s.batch() : 1; // a symbolic batch takes --batch; other symbolic dims 1
            }
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        Random rnd = new Random(s.seed());
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return new NpyFloats(shape, v);
    }

    /** The exporter's reference output, repeated to the batch like the input. */
    private static float[] reference(Path file, int batch) throws IOException {
        NpyFloats y = NpyFloats.read(file);
        if (batch == 1 || y.shape().length == 0 || y.shape()[0] != 1) {
            return y.values();
        }
        float[] v = new float[y.values().length * batch];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(y.values(), 0, v, b * y.values().length, y.values().length);
        }
        return v;
    }

    /** {max |a-b|, that over max |b|, max elementwise |a-b|/|b|} over all outputs (b is the reference side). */
    static double[] compare(float[][] a, float[][] b) {
        double maxAbs = 0;
        double maxRef = 0;
        double maxRel = 0;
        if (a.length != b.length) {
            return new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
        }
        for (int o = 0; o < a.length; o++) {
            if (a[o].length != b[o].length) {
                return new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
            }
            for (int i = 0; i < a[o].length; i++) {
                double d = Math.abs((double) a[o][i] - b[o][i]);
                if (Double.isNaN(d)) {
                    d = Double.POSITIVE_INFINITY;
                }
                maxAbs = Math.max(maxAbs, d);
                maxRef = Math.max(maxRef, Math.abs(b[o][i]));
                double rel = d / Math.max(Math.abs(b[o][i]), 1e-30);
                maxRel = Math.max(maxRel, rel);
            }
        }
        double scaled = maxRef > 0 ? maxAbs / maxRef : (maxAbs == 0 ? 0 : Double.POSITIVE_INFINITY);
        return new double[] {maxAbs, scaled, maxRel};
    }

    private static double scaledAgainst(float[] out, float[] ref) {
        return compare(new float[][] {out}, new float[][] {ref})[1];
    }

    private static String describeUnsupported(UnsupportedModelException e) {
        TreeSet<String> ops = new TreeSet<>();
        int n = 0;
        if (e.problems() != null) {
            for (String p : e.problems()) {
                n++;
                Matcher m = UNSUPPORTED_OP.matcher(p);
                if (m.find()) {
                    ops.add(m.group(1));
                }
            }
        }
        if (!ops.isEmpty()) {
            return "unsupported ops " + String.join(", ", ops) + " (" + n + " problem" + (n == 1 ? "" : "s") + ")";
        }
        return "unsupported: " + oneLine(e);
    }

    // ---- output

    private static void printResult(Result r, Settings s) {
        for (Side side : List.of(r.tandem, r.ort)) {
            if (side.startNanos >= 0) {
                System.out.printf("%-7s runtime start %.1f ms (once per process, before the first load)%n", side.name,
                        ms(side.startNanos));
            }
            if (side.reloadNanos.length > 0) {
                System.out.printf("%-7s loaded again %d times: median %.1f ms, min %.1f ms%n", side.name,
                        side.reloadNanos.length, ms(median(sortedCopy(side.reloadNanos))),
                        ms(sortedCopy(side.reloadNanos)[0]));
            }
            if (side.loadNanos >= 0) {
                System.out.printf("%-7s load %.1f ms, RSS +%.1f MiB%s", side.name, ms(side.loadNanos),
                        mib(side.rssAfterLoad - side.rssBefore), side.firstNanos >= 0 ? "" : "\n");
                if (side.firstNanos >= 0) {
                    System.out.printf("; first run %.1f ms, RSS +%.1f MiB over load and first run%n",
                            ms(side.firstNanos), mib(side.rssAfterFirst - side.rssBefore));
                }
            }
            if (!side.ok()) {
                System.out.printf("%-7s %s%n", side.name, side.problem);
            }
            if (side.timed()) {
                long[] sorted = side.samples.clone();
                Arrays.sort(sorted);
                System.out.printf("%-7s median %.2f ms, p90 %.2f ms, min %.2f ms, mean %.2f ms over %d runs after %d "
                                + "warm-up%n", side.name, ms(median(sorted)), ms(p90(sorted)), ms(sorted[0]),
                        mean(sorted) / 1e6, sorted.length, r.warmupRounds);
            }
        }
        if (r.tandem.timed() && r.ort.timed()) {
            System.out.printf("ratio   Tandem/ORT median %.2f, p90 %.2f%n", ratio(r), ratioP90(r));
        }
        if (!Double.isNaN(r.scaled)) {
            System.out.printf("agree   %s: max |Tandem-ORT| %.3g, scaled by max |ORT| %.3g (limit %.0e), max "
                    + "elementwise relative %.3g%n", r.scaled <= AGREEMENT ? "PASS" : "FAIL", r.maxAbs, r.scaled,
                    AGREEMENT, r.maxRel);
        }
        if (!Double.isNaN(r.tandemVsRef) || !Double.isNaN(r.ortVsRef)) {
            System.out.printf("PyTorch reference, scaled error: Tandem %s, ORT %s%n", fmt(r.tandemVsRef),
                    fmt(r.ortVsRef));
        }
        if (r.tandem.ok() && r.weightBytes >= 0) {
            System.out.printf("Tandem  weights %.1f MiB, arena %s MiB, folded constants %s MiB%n",
                    mib(r.weightBytes), r.arenaBytes >= 0 ? String.format("%.1f", mib(r.arenaBytes)) : "?",
                    r.foldedBytes >= 0 ? String.format("%.2f", mib(r.foldedBytes)) : "?");
        }
        if (s.only() != null) {
            System.out.printf("VmHWM   %.1f MiB at start of this model, %.1f MiB at end (this process runs only %s)"
                    + "%n", mib(r.hwmStart), mib(r.hwmEnd), s.only());
        } else {
            System.out.println("(RSS growth: both runtimes live in one process; use --only tandem|ort for a separate"
                    + " process per runtime)");
        }
    }

    private static String markdownHeader(Settings s) {
        if (s.only() != null) {
            String who = s.only().equals("tandem") ? "Tandem" : "ONNX Runtime";
            return "| model | " + who + " median (p90) ms | load ms | first run ms | VmHWM MiB before load → end |\n"
                    + "|---|---:|---:|---:|---:|";
        }
        return "| model | Tandem median (p90) ms | ORT median (p90) ms | Tandem/ORT | load ms Tandem / ORT "
                + "| first run ms Tandem / ORT | scaled error | agree | Tandem weights + arena MiB "
                + "| RSS growth MiB Tandem / ORT |\n"
                + "|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|";
    }

    private static String markdownRow(Result r, Settings s) {
        if (s.only() != null) {
            Side side = s.only().equals("tandem") ? r.tandem : r.ort;
            return "| " + r.model + " | " + latency(side) + " | " + loadMs(side) + " | " + firstMs(side) + " | "
                    + String.format("%.0f → %.0f", mib(r.hwmStart), mib(r.hwmEnd)) + " |";
        }
        String ratio = r.tandem.timed() && r.ort.timed() ? String.format("%.2f", ratio(r)) : "–";
        String err = Double.isNaN(r.scaled) ? "–" : String.format("%.1e", r.scaled);
        String agree = Double.isNaN(r.scaled) ? "–" : r.scaled <= AGREEMENT ? "PASS" : "FAIL";
        String mem = r.weightBytes >= 0 && r.arenaBytes >= 0
                ? String.format("%.1f + %.1f", mib(r.weightBytes), mib(r.arenaBytes)) : "–";
        String rss = (r.tandem.firstNanos >= 0 ? String.format("%.0f", mib(r.tandem.rssAfterFirst
                - r.tandem.rssBefore)) : "–") + " / " + (r.ort.firstNanos >= 0
                ? String.format("%.0f", mib(r.ort.rssAfterFirst - r.ort.rssBefore)) : "–");
        return "| " + r.model + " | " + latency(r.tandem) + " | " + latency(r.ort) + " | " + ratio + " | "
                + loadMs(r.tandem) + " / " + loadMs(r.ort) + " | " + firstMs(r.tandem) + " / " + firstMs(r.ort)
                + " | " + err + " | " + agree + " | " + mem + " | " + rss + " |";
    }

    private static String warmupText(Settings s) {
        return s.warmup() >= 0 ? Integer.toString(s.warmup()) : "auto (until the JIT is quiet)";
    }

    private static String markdownNotes(Settings s) {
        return String.format("%d thread(s), batch %d, median and p90 of %d timed runs after %s warm-up, "
                + "%s; scaled error = max |Tandem − ORT| / max |ORT| over the outputs, PASS at ≤ 1e-4.%s",
                s.threads(), s.batch(), s.iters(), warmupText(s),
                s.only() == null ? "Tandem and ONNX Runtime alternating in one JVM"
                        : "only " + s.only() + " in the process",
                s.only() == null ? " RSS growth is over load and first run, both runtimes in one process:"
                        + " indicative only." : "");
    }

    private static String latency(Side side) {
        if (!side.timed()) {
            String p = side.problem == null ? "–" : side.problem;
            return p.replace("|", "\\|");
        }
        long[] sorted = side.samples.clone();
        Arrays.sort(sorted);
        return String.format("%.2f (%.2f)", ms(median(sorted)), ms(p90(sorted)));
    }

    /** The first load; with the runtime's start before it (first model only) and the reloads' median. */
    private static String loadMs(Side side) {
        if (side.loadNanos < 0) {
            return "–";
        }
        String text = String.format("%.0f", ms(side.loadNanos));
        if (side.startNanos >= 0) {
            text += String.format(" (+%.0f start)", ms(side.startNanos));
        }
        if (side.reloadNanos.length > 0) {
            text += String.format(", again %.0f", ms(median(sortedCopy(side.reloadNanos))));
        }
        return text;
    }

    private static long[] sortedCopy(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted;
    }

    private static String firstMs(Side side) {
        return side.firstNanos >= 0 ? String.format("%.1f", ms(side.firstNanos)) : "–";
    }

    // ---- numbers

    private static double ratio(Result r) {
        long[] a = r.tandem.samples.clone();
        long[] b = r.ort.samples.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        return (double) median(a) / median(b);
    }

    private static double ratioP90(Result r) {
        long[] a = r.tandem.samples.clone();
        long[] b = r.ort.samples.clone();
        Arrays.sort(a);
        Arrays.sort(b);
        return (double) p90(a) / p90(b);
    }

    static long median(long[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static long p90(long[] sorted) {
        int i = (int) Math.ceil(0.9 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static double mean(long[] v) {
        double s = 0;
        for (long x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static String fmt(double d) {
        return Double.isNaN(d) ? "–" : String.format("%.3g", d) + (d <= AGREEMENT ? " PASS" : " FAIL");
    }

    private static int[] toInts(long[] shape) {
        int[] d = new int[shape.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.toIntExact(shape[i]);
        }
        return d;
    }

    private static Path sibling(Path file, String name) {
        Path dir = file.toAbsolutePath().getParent();
        return dir == null ? Path.of(name) : dir.resolve(name);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        String s = e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
        s = s.replace('\n', ' ').replaceAll("\\s+", " ");
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }

    /** A field of /proc/self/status in bytes (VmRSS, VmHWM); 0 where there is none (not Linux). */
    static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    private static void gc() {
        System.gc();
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
