package dev.tandem.bench;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * How a fresh JVM warms up on one model: load, plan, then the wall time of each of the first N runs, one line.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.tandem.bench.WarmupCurve \
 *      --model M.onnx [--threads 2] [--runs 30]
 * </pre>
 *
 * <p><b>Why.</b> The first run of a model waits for C2 to compile the vector kernels (every vector is boxed before
 * that), and the runs after it for the rest of C2's queue: on the 2-core machine MobileNetV2 takes about 30 runs and
 * 4 s to come within 3× of its steady 7 ms. One number ({@code tandem bench}'s {@code first_run_ms}) hides where that
 * time goes; this prints the curve, so that a JIT change (a deoptimisation storm, a start-up path switching over,
 * a method C1 cannot compile) shows as a step in it. Run it in a fresh JVM each time, several times: single curves
 * are noisy. Single-input models; the input is the model's {@code .input.npy} when present, else sin(i) values of
 * {@code [1, 3, 224, 224]}.
 */
public final class WarmupCurve {
    private WarmupCurve() {
    }

    public static void main(String[] args) throws Exception {
        Path model = null;
        int threads = 2, runs = 30;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> model = Path.of(need(v, args[i++]));
                case "--threads" -> threads = count(need(v, args[i++]), "--threads");
                case "--runs" -> runs = count(need(v, args[i++]), "--runs");
                default -> throw new IllegalArgumentException("Unknown option " + args[i]
                        + " (use --model M.onnx [--threads T] [--runs N])");
            }
        }
        if (model == null || threads < 1 || runs < 1) {
            throw new IllegalArgumentException("--model is required; --threads and --runs must be >= 1");
        }
        long t0 = System.nanoTime();
        try (Model m = Model.load(model, Model.Options.defaults().withThreads(threads))) {
            long t1 = System.nanoTime();
            Path npy = model.resolveSibling(model.getFileName().toString().replaceFirst("\\.onnx$", ".input.npy"));
            try (Tensor x = Files.exists(npy) ? dev.tandem.runtime.io.Npy.read(npy) : sines()) {
                curve(model, threads, runs, m, x, t1 - t0);
            }
        }
    }

    private static Tensor sines() {
        float[] v = new float[3 * 224 * 224];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i);
        }
        return Tensor.ofFloats(Shape.of(1, 3, 224, 224), v);
    }

    /** Plans {@code m} for {@code x}, runs it {@code runs} times and prints the line; load took {@code loadNanos}. */
    private static void curve(Path model, int threads, int runs, Model m, Tensor x, long loadNanos) {
        long t1 = System.nanoTime();
        ExecutionPlan plan = m.plan(Map.of(m.inputs().get(0).name(), x.shape()));
        long t2 = System.nanoTime();
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "{\"model\":\"%s\",\"threads\":%d,\"load_ms\":%.0f,\"plan_ms\":%.0f,\"runs_ms\":[",
                model.getFileName(), threads, loadNanos / 1e6, (t2 - t1) / 1e6));
        double first = 0, rest = 0, last = 0;
        Tensor[] in = {x};
        for (int r = 0; r < runs; r++) {
            long s = System.nanoTime();
            for (Tensor t : plan.run(in)) {
                t.close();
            }
            double ms = (System.nanoTime() - s) / 1e6;
            line.append(r == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.1f", ms));
            if (r == 0) {
                first = ms;
            } else {
                rest += ms;
            }
            last = ms;
        }
        line.append(String.format(Locale.ROOT, "],\"first_ms\":%.0f,\"later_runs_sum_ms\":%.0f,\"last_ms\":%.1f}",
                first, rest, last));
        System.out.println(line);
    }

    private static int count(String v, String opt) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + " takes a whole number; got '" + v + "'");
        }
    }

    private static String need(String v, String opt) {
        if (v == null) {
            throw new IllegalArgumentException(opt + " needs a value");
        }
        return v;
    }
}
