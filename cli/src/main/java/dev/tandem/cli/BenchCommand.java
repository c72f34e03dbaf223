package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.exec.JitSettle;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem bench}: times a model on random inputs and prints one JSON object. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {"Time a model on random inputs of its declared shapes (batch dimension set to --batch).",
            "Prints one JSON object: load_ms, first_run_ms, warmup_runs, p50_ms, p90_ms, mean_ms,",
            "alloc_bytes_per_run (Java heap per timed run), arena_bytes, weight_bytes, memory_bytes (their sum),",
            "threads, batch, iters."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads;

    @Option(names = "--batch", paramLabel = "B", description = "Batch size for symbolic first dimensions (default: 1).")
    int batch = 1;

    @Option(names = "--iters", paramLabel = "N", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int iters = 20;

    @Option(names = "--warmup", paramLabel = "N", description = "Untimed runs after the first (default: until the "
            + "JIT has finished no compilation for 1 s, at most 60 s: the kernels' times before that are the "
            + "compiler's, not the model's).")
    Integer warmup;

    @Option(names = "--profile", description = "Also time every step over the timed runs and report the time per "
            + "op type and the slowest nodes.")
    boolean profile;

    @Option(names = "--profile-top", paramLabel = "N",
            description = "With --profile: how many of the slowest nodes to list (default: ${DEFAULT-VALUE}).")
    int profileTop = 10;

    @Option(names = "--jit-warmup", description = "Compile the kernels while loading (Model.Options.warmup): longer "
            + "load, faster first run.")
    boolean jitWarmup;

    @Option(names = "--max-memory", paramLabel = "BYTES", converter = MemorySizeConverter.class,
            description = MemorySizeConverter.DESCRIPTION)
    Long maxMemory;

    @Option(names = "--input-shape", paramLabel = "NAME=1x3x224x224",
            description = "The shape of an input (repeatable); overrides its declared shape and --batch.")
    List<String> inputShapes = List.of();

    /**
     * Per-step wall times over {@code iters} runs: totals per op type and the slowest nodes, in ms per run, with
     * each node's multiply-adds and the GFLOP/s it ran at (2 flops per multiply-add) where it does any.
     */
    private ObjectNode profile(Model m, Map<String, Shape> shapes, Map<String, Tensor> feed) {
        dev.tandem.runtime.plan.ExecutionPlan plan = m.plan(shapes);
        Tensor[] ordered = m.inputs().stream().map(i -> feed.get(i.name())).toArray(Tensor[]::new);
        long[] ns = new long[plan.stepCount()];
        long total = 0;
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            for (Tensor t : plan.run(ordered, ns)) {
                t.close();
            }
            total += System.nanoTime() - t0;
        }
        java.util.List<String> names = plan.stepNames();
        Map<String, Long> byOp = new java.util.HashMap<>();
        for (int i = 0; i < ns.length; i++) {
            byOp.merge(names.get(i).substring(0, names.get(i).indexOf(' ')), ns[i], Long::sum);
        }
        ObjectNode p = new ObjectMapper().createObjectNode();
        p.put("run_ms", round(ms(total) / iters));
        ObjectNode ops = p.putObject("ms_per_op_type");
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .forEach(e -> ops.put(e.getKey(), round(ms(e.getValue()) / iters)));
        com.fasterxml.jackson.databind.node.ArrayNode slow = p.putArray("slowest_nodes");
        Integer[] idx = new Integer[ns.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Long.compare(ns[b], ns[a]));
        long[] macs = plan.stepMultiplyAdds();
        for (int i = 0; i < Math.min(profileTop, idx.length); i++) {
            ObjectNode o = slow.addObject().put("node", names.get(idx[i])).put("ms", round(ms(ns[idx[i]]) / iters));
            if (macs[idx[i]] > 0) {
                o.put("multiply_adds", macs[idx[i]]);
                o.put("gflops", round(2.0 * macs[idx[i]] * iters / Math.max(1, ns[idx[i]])));
            }
        }
        return p;
    }

    @Override
    public Integer call() {
        if (threads < 0 || batch < 1 || iters < 1 || warmup != null && warmup < 0 || profileTop < 0) {
            throw new ParameterException(spec.commandLine(),
                    "--threads, --batch and --iters must be >= 1, --warmup and --profile-top >= 0 (leave --warmup out "
                            + "to warm up until the JIT settles)");
        }
        Map<String, Shape> given = new LinkedHashMap<>();
        for (String s : inputShapes) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new ParameterException(spec.commandLine(), "--input-shape " + s + ": expected NAME=1x3x224x224");
            }
            given.put(s.substring(0, eq), parseShape(s.substring(eq + 1)));
        }
        long t0 = System.nanoTime();
        try (Model m = Model.load(model, Model.Options.defaults().withThreads(threads).withWarmup(jitWarmup)
                .withMaxMemory(maxMemory == null ? 0 : maxMemory))) {
            double loadMs = ms(System.nanoTime() - t0);
            for (String name : given.keySet()) {
                if (m.inputs().stream().noneMatch(i -> i.name().equals(name))) {
                    throw new ParameterException(spec.commandLine(), "--input-shape: the model has no input '" + name
                            + "'; its inputs are " + m.inputs());
                }
            }
            Map<String, Shape> shapes = new LinkedHashMap<>();
            Map<String, Tensor> feed = new LinkedHashMap<>();
            SplittableRandom rnd = new SplittableRandom(42);
            try {
                for (Model.IoInfo in : m.inputs()) {
                    Shape s = given.containsKey(in.name()) ? given.get(in.name()) : shapeOf(in);
                    shapes.put(in.name(), s);
                    DType dt = in.type() != null && in.type().dtype() != null ? in.type().dtype() : DType.FLOAT32;
                    Tensor t = Tensor.allocate(dt, s);
                    feed.put(in.name(), t);
                    if (dt.isFloatingPoint()) {
                        for (long i = 0; i < t.size(); i++) {
                            Elements.setDouble(t, i, rnd.nextDouble(-1, 1));
                        }
                    }
                }
                long r0 = System.nanoTime();
                runOnce(m, feed);
                double firstMs = ms(System.nanoTime() - r0);
                if (warmup == null) {
                    PrintWriter err = spec.commandLine().getErr();
                    err.println("bench: warming up until the JIT has compiled the kernels (up to 60 s; --warmup N "
                            + "sets a count)");
                    err.flush();
                }
                int warmupRuns = warmup != null ? warmup : warmUntilCompiled(m, feed);
                for (int i = 0; warmup != null && i < warmup; i++) {
                    runOnce(m, feed);
                }
                double[] times = new double[iters];
                long alloc0 = allocatedBytes();
                for (int i = 0; i < iters; i++) {
                    long s0 = System.nanoTime();
                    runOnce(m, feed);
                    times[i] = ms(System.nanoTime() - s0);
                }
                long alloc1 = allocatedBytes();
                double[] sorted = times.clone();
                Arrays.sort(sorted);
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("model", model.toString());
                o.put("load_ms", round(loadMs));
                o.put("first_run_ms", round(firstMs));
                o.put("warmup_runs", warmupRuns);
                o.put("p50_ms", round(percentile(sorted, 50)));
                o.put("p90_ms", round(percentile(sorted, 90)));
                o.put("mean_ms", round(Arrays.stream(times).average().orElse(0)));
                o.put("arena_bytes", m.plan(shapes).arenaBytes());
                o.put("weight_bytes", m.weightBytes());
                o.put("memory_bytes", m.weightBytes() + m.plan(shapes).arenaBytes());
                // Java heap allocated per timed run by all threads (-1: the JVM does not count): a hot path that
                // allocates, for instance vectors C2 left boxed, shows here long before it shows in a median
                o.put("alloc_bytes_per_run", alloc0 < 0 || alloc1 < 0 ? -1 : (alloc1 - alloc0) / iters);
                o.put("threads", m.pool().threads());
                o.put("batch", batch);
                o.put("iters", iters);
                if (profile) {
                    o.set("profile", profile(m, shapes, feed));
                }
                PrintWriter out = spec.commandLine().getOut();
                out.println(o);
                out.flush();
            } finally {
                feed.values().forEach(Tensor::close);
            }
        }
        return 0;
    }

    /**
     * Runs the model until the JIT has completed no compilation for a second (at most 60 s); returns the runs made.
     * Why: on two cores, C2 compiling the kernels' large methods takes one of them for seconds after the first
     * hundreds of runs, and a median timed then was up to 1.5 times the settled one (MobileNetV2 10.4 ms after 200
     * warm-up runs, 6.7–7.0 after 1000; docs/benchmarks.md). Where the JVM gives no compilation time, 100 runs.
     */
    private static int warmUntilCompiled(Model m, Map<String, Tensor> feed) {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            for (int i = 0; i < 100; i++) {
                runOnce(m, feed);
            }
            return 100;
        }
        return JitSettle.runUntilQuiet(() -> runOnce(m, feed), jit::getTotalCompilationTime, 1_000_000_000L,
                60_000_000_000L);
    }

    /** Bytes allocated on the Java heap by all threads so far, or -1 where the JVM does not count them. */
    static long allocatedBytes() {
        try {
            if (java.lang.management.ManagementFactory.getThreadMXBean()
                    instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()
                    && t.isThreadAllocatedMemoryEnabled()) {
                return t.getTotalThreadAllocatedBytes();
            }
        } catch (LinkageError | UnsupportedOperationException e) {
            // a runtime image without jdk.management
        }
        return -1;
    }

    private Shape shapeOf(Model.IoInfo in) {
        TensorType t = in.type();
        if (t == null || t.dims() == null) {
            throw new ParameterException(spec.commandLine(), "Input '" + in.name()
                    + "' declares no shape; give --input-shape " + in.name() + "=...");
        }
        long[] d = t.dims();
        int[] dims = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            if (d[i] >= 0) {
                dims[i] = Math.toIntExact(d[i]);
                if (i == 0 && batch != 1 && d[0] != batch) {
                    throw new ParameterException(spec.commandLine(), "Input '" + in.name() + "' has a fixed batch of "
                            + d[0] + " (" + t.describe() + "); --batch " + batch + " cannot apply");
                }
            } else if (i == 0) {
                dims[i] = batch;
            } else {
                throw new ParameterException(spec.commandLine(), "Input '" + in.name() + "' is " + t.describe()
                        + ": dimension " + i + " is symbolic; give --input-shape " + in.name() + "=...");
            }
        }
        return Shape.of(dims);
    }

    private Shape parseShape(String text) {
        String[] p = text.split("x");
        int[] d = new int[p.length];
        try {
            for (int i = 0; i < p.length; i++) {
                d[i] = Integer.parseInt(p[i].strip());
                if (d[i] < 0) {
                    throw new NumberFormatException();
                }
            }
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--input-shape: '" + text
                    + "' is not a shape like 1x3x224x224");
        }
        return Shape.of(d);
    }

    private static void runOnce(Model m, Map<String, Tensor> feed) {
        m.run(feed).values().forEach(Tensor::close);
    }

    private static double percentile(double[] sorted, int p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
