package dev.tandem.bench;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Two builds of Tandem's runtime on one model, in one JVM: for measuring a code change on a noisy machine.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.tandem.bench.AbRuntimes \
 *      --model M.onnx --a OLD_CLASSES_OR_JAR:protobuf.jar --b NEW_CLASSES_OR_JAR:protobuf.jar \
 *      [--threads 2] [--warmup 100] [--iters 100] [--order ab|ba|both] [--shape 1,3,224,224]
 * </pre>
 *
 * <p><b>Why.</b> On a shared 2-core VM the same run moves by up to 2× within minutes, so two builds measured one
 * after the other in separate processes say little about a 5–15% change. Here each build is loaded by its own class
 * loader and the runs alternate (A, B, B, A, A, B, ...), so slow phases of the machine fall on both; the figure is
 * the median of the per-round ratios {@code t_B / t_A}.
 *
 * <p><b>Order bias.</b> Two runtimes in one JVM are not symmetric: the one loaded second was measured up to 19%
 * slower when both were the same build (its threads compete with the first one's spinning pool threads, and the JIT
 * sees the second copy later). {@code --order both} (the default) therefore runs two child JVMs, A loaded first and
 * then B loaded first, and reports {@code B/A = sqrt(q_ab / q_ba)} and the bias {@code sqrt(q_ab · q_ba)}, where
 * {@code q_xy} is the paired median of second/first with x loaded first.
 *
 * <p>The input is {@code M.input.npy} next to the model when present, else seeded standard-normal values of
 * {@code --shape}. Single-input models only.
 */
public final class AbRuntimes {
    private AbRuntimes() {
    }

    /** One loaded build: its model, input and the reflective handles to run it. */
    private record Build(String label, Object model, Object input, Method run, Method close) {
        long time() throws ReflectiveOperationException {
            long t0 = System.nanoTime();
            Object out = run.invoke(model, input);
            long t = System.nanoTime() - t0;
            close.invoke(out);
            return t;
        }
    }

    public static void main(String[] args) throws Exception {
        Path model = null;
        String a = null, b = null, order = "both";
        int threads = 2, warmup = 100, iters = 100;
        int[] shape = {1, 3, 224, 224};
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> model = Path.of(need(v, args[i]));
                case "--a" -> a = need(v, args[i]);
                case "--b" -> b = need(v, args[i]);
                case "--threads" -> threads = number(v, args[i]);
                case "--warmup" -> warmup = number(v, args[i]);
                case "--iters" -> iters = number(v, args[i]);
                case "--order" -> order = need(v, args[i]);
                case "--shape" -> shape = Arrays.stream(need(v, args[i]).split(",")).mapToInt(d -> number(d, "--shape"))
                        .toArray();
                default -> usage("unknown option " + args[i]);
            }
            i++;
        }
        if (model == null || a == null || b == null || threads < 1 || iters < 1 || warmup < 0) {
            usage("need --model, --a and --b (and positive --threads, --iters)");
        }
        if (!Files.isRegularFile(model)) {
            usage("no model file " + model);
        }
        switch (order) {
            case "ab" -> System.out.println(measure(model, a, b, "A", "B", threads, warmup, iters, shape));
            case "ba" -> System.out.println(measure(model, b, a, "B", "A", threads, warmup, iters, shape));
            case "both" -> both(args);
            default -> usage("--order takes ab, ba or both");
        }
    }

    private static int number(String v, String option) {
        try {
            return Integer.parseInt(need(v, option).strip());
        } catch (NumberFormatException e) {
            usage(option + " takes whole numbers, got '" + v + "'");
            return 0;
        }
    }

    private static String need(String v, String option) {
        if (v == null) {
            usage(option + " needs a value");
        }
        return v;
    }

    private static void usage(String why) {
        System.err.println("AbRuntimes: " + why);
        System.err.println("usage: AbRuntimes --model M.onnx --a CLASSPATH --b CLASSPATH [--threads 2] [--warmup 100]"
                + " [--iters 100] [--order ab|ba|both] [--shape 1,3,224,224]");
        System.exit(2);
    }

    /** Runs this class twice in child JVMs (A first, then B first) and combines the two paired medians. */
    private static void both(String[] args) throws IOException, InterruptedException {
        double[] q = new double[2];
        String[] orders = {"ab", "ba"};
        for (int k = 0; k < 2; k++) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("--add-modules");
            cmd.add("jdk.incubator.vector");
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(AbRuntimes.class.getName());
            List<String> rest = new ArrayList<>(List.of(args));
            int at = rest.indexOf("--order");
            if (at >= 0) {
                rest.remove(at + 1);
                rest.remove(at);
            }
            cmd.addAll(rest);
            cmd.add("--order");
            cmd.add(orders[k]);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) {
                System.err.println("AbRuntimes: the child run (order " + orders[k] + ") failed"
                        + (out.isEmpty() ? "" : ": " + out));
                System.exit(1);
            }
            System.out.println(out);
            String key = "second/first paired median ";
            int i = out.lastIndexOf(key);
            q[k] = Double.parseDouble(out.substring(i + key.length()).split("\\s")[0]);
        }
        double ratio = Math.sqrt(q[0] / q[1]), bias = Math.sqrt(q[0] * q[1]);
        System.out.printf(Locale.ROOT, "B/A = %.3f (order bias: the second-loaded build %.1f%% slower)%n", ratio,
                100 * (bias - 1));
    }

    private static String measure(Path model, String firstCp, String secondCp, String firstLabel, String secondLabel,
                                  int threads, int warmup, int iters, int[] shape) throws Exception {
        float[] x = input(model, shape);
        Build first = load(firstLabel, firstCp, model, threads, x, shape);
        Build second = load(secondLabel, secondCp, model, threads, x, shape);
        for (int i = 0; i < warmup; i++) {
            first.time();
            second.time();
        }
        long[] tf = new long[iters], ts = new long[iters];
        double[] ratio = new double[iters];
        for (int i = 0; i < iters; i++) {
            if (i % 2 == 0) {
                tf[i] = first.time();
                ts[i] = second.time();
            } else {
                ts[i] = second.time();
                tf[i] = first.time();
            }
            ratio[i] = (double) ts[i] / tf[i];
        }
        Arrays.sort(ratio);
        return String.format(Locale.ROOT, "%s (loaded first) median %.2f min %.2f ms; %s median %.2f min %.2f ms; "
                        + "second/first paired median %.4f", firstLabel, median(tf), min(tf), secondLabel, median(ts),
                min(ts), ratio[iters / 2]);
    }

    private static double median(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    private static double min(long[] t) {
        return Arrays.stream(t).min().orElse(0) / 1e6;
    }

    private static float[] input(Path model, int[] shape) throws IOException {
        String name = model.getFileName().toString().replaceFirst("\\.onnx$", "");
        Path npy = model.resolveSibling(name + ".input.npy");
        if (Files.isRegularFile(npy)) {
            NpyFloats n = NpyFloats.read(npy);
            if (n.shape().length != shape.length) {
                throw new IllegalArgumentException(npy + " has rank " + n.shape().length + ", --shape " + shape.length);
            }
            for (int i = 0; i < shape.length; i++) {
                shape[i] = Math.toIntExact(n.shape()[i]);
            }
            return n.values();
        }
        Random r = new Random(42);
        float[] x = new float[Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static Build load(String label, String classpath, Path model, int threads, float[] x, int[] shape)
            throws IOException, ReflectiveOperationException {
        List<URL> urls = new ArrayList<>();
        for (String p : classpath.split(java.io.File.pathSeparator)) {
            if (!Files.exists(Path.of(p))) {
                usage("build " + label + ": no file or folder " + p);
            }
            urls.add(Path.of(p).toUri().toURL());
        }
        // the platform loader as parent: this jar's own copy of the runtime stays invisible to the build
        ClassLoader cl = new URLClassLoader(label, urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Class<?> m;
        try {
            m = cl.loadClass("dev.tandem.runtime.Model");
        } catch (ClassNotFoundException e) {
            usage("build " + label + ": no Tandem runtime (dev.tandem.runtime.Model) in " + classpath);
            throw e;
        }
        Class<?> o = cl.loadClass("dev.tandem.runtime.Model$Options");
        Class<?> t = cl.loadClass("dev.tandem.runtime.tensor.Tensor");
        Class<?> s = cl.loadClass("dev.tandem.runtime.tensor.Shape");
        try {
            Object opts = o.getMethod("withThreads", int.class).invoke(o.getMethod("defaults").invoke(null), threads);
            Object loaded = m.getMethod("load", Path.class, o).invoke(null, model, opts);
            Object sh = s.getMethod("of", int[].class).invoke(null, (Object) shape.clone());
            Object in = t.getMethod("ofFloats", s, float[].class).invoke(null, sh, x);
            return new Build(label, loaded, in, m.getMethod("run", t), t.getMethod("close"));
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(label + ": " + e.getCause(), e.getCause());
        }
    }
}
