package dev.tandem.train.engine;

import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Sgd;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Whole training steps on a device against the CPU: for each zoo architecture, two copies of the model with the same
 * initial weights take the same batches (SGD with Nesterov momentum, weight decay, label smoothing, dropout), one
 * through the CPU plan and one through a {@link DeviceSession}; every step's loss, top-1 count and gradient norm
 * and, at the end, every parameter, buffer and momentum buffer, and evaluation logits are compared. The device runs
 * float32 (no TF32) for this, so that differences are only summation order; from the third step on the device
 * replays a captured CUDA graph, so replays are checked too.
 *
 * <p>{@code java -cp ... dev.tandem.train.engine.DeviceParity [--steps N] [--batch B] [ARCH...]}: prints one line per
 * check and {@code PARITY: PASS|FAIL}; exit 0 when all pass, 1 when one fails, 3 when there is no GPU.
 */
public final class DeviceParity {
    private DeviceParity() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /** {@link #main} without the exit: the report goes to {@code out}; returns the exit code. */
    public static int run(String[] args, PrintStream out) {
        int steps = 6, batch = 32;
        List<String> archs = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--steps", "--batch" -> {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(args[i] + " needs a value");
                        }
                        int v = Integer.parseInt(args[++i]);
                        if (args[i - 1].equals("--steps")) {
                            steps = v;
                        } else {
                            batch = v;
                        }
                    }
                    default -> {
                        if (!Zoo.architectures().contains(args[i])) {
                            throw new IllegalArgumentException("unknown architecture '" + args[i] + "'; known: "
                                    + String.join(", ", Zoo.architectures()));
                        }
                        archs.add(args[i]);
                    }
                }
            }
            if (steps < 2 || batch < 2) {
                throw new IllegalArgumentException("need --steps >= 2 and --batch >= 2");
            }
        } catch (IllegalArgumentException e) {
            out.println("DeviceParity: " + e.getMessage());
            out.println("usage: DeviceParity [--steps N] [--batch B] [ARCH...]");
            return 2;
        }
        if (archs.isEmpty()) {
            archs.addAll(List.of("fashionnet", "resnet8", "mobilenet"));
        }
        // Full float32 whatever TANDEM_CUDA_PRECISION says: the bounds are those of float32 rounding.
        BackendEnvironment env = BackendEnvironment.system().withProperty("tandem.cuda.precision", "float32");
        Optional<BackendProvider> cuda = Backends.installed(DeviceParity.class.getClassLoader()).find("cuda");
        if (cuda.isEmpty()) {
            out.println("no GPU: no CUDA backend on the class path");
            return 3;
        }
        BackendProbe probe = cuda.get().probe(env);
        if (!probe.supports(Capability.TRAINING)) {
            out.println("no GPU: " + probe.whyNot(Capability.TRAINING));
            return 3;
        }
        boolean ok = true;
        try (DeviceSession device = cuda.get().open(env); ThreadPool pool = new ThreadPool(4)) {
            out.println("device: " + device.summary());
            for (String arch : archs) {
                try {
                    ok &= compare(arch, steps, batch, device, pool, out, x -> x);
                } catch (dev.tandem.runtime.UnsupportedModelException e) {
                    out.println("[UNSUPPORTED] " + arch + ": " + e.getMessage());
                    ok &= !arch.equals("fashionnet") && !arch.equals("resnet8");
                } catch (RuntimeException e) {
                    out.println("[FAIL] " + arch + ": " + e);
                    ok = false;
                }
            }
        }
        out.println("PARITY: " + (ok ? "PASS" : "FAIL"));
        return ok ? 0 : 1;
    }

    /**
     * One architecture: the CPU against {@code device}. {@code deviceInput} changes what the device side is fed (the
     * identity, except in tests, where {@code device} is null, i.e. a second CPU copy, and the change stands in for a
     * device's rounding or for a wrong op).
     */
    static boolean compare(String arch, int steps, int batch, DeviceSession device, ThreadPool pool, PrintStream out,
                           java.util.function.UnaryOperator<float[]> deviceInput) {
        int[] shape = arch.equals("fashionnet") ? new int[] {1, 28, 28} : new int[] {3, 32, 32};
        int classes = 10;
        Sgd opt = new Sgd(0.05, 0.9, true, 5e-4, 0, false);
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(0.1);
        SplittableRandom r = new SplittableRandom(42);
        int sample = shape[0] * shape[1] * shape[2];
        boolean ok = true;
        List<Nudged> nudged = new ArrayList<>();
        try (Module cpu = Zoo.create(arch, shape[0], shape[1], shape[2], classes);
             Module gpu = Zoo.create(arch, shape[0], shape[1], shape[2], classes);
             OptimizerState cs = new OptimizerState(); OptimizerState gs = new OptimizerState()) {
            cpu.resetParameters(7);
            gpu.resetParameters(7);
            float[] evalData = new float[batch * sample];
            for (int i = 0; i < evalData.length; i++) {
                evalData[i] = (float) r.nextGaussian();
            }
            long t0 = System.nanoTime();
            try (EvalGraph ce = new EvalGraph(cpu, batch, shape, pool);
                 EvalGraph ge = new EvalGraph(gpu, batch, shape, pool, device)) {
                ok &= close(arch + " evaluation logits (initial weights)", Map.of("logits", ce.logits(evalData)),
                        Map.of("logits", ge.logits(deviceInput.apply(evalData))), 1e-4, Map.of(), out);
            }
            for (int k = 0; k < NUDGES; k++) {
                nudged.add(new Nudged(arch, shape, classes, batch, loss, opt, pool, 43 + k));
            }
            try (StepGraph c = new StepGraph(cpu, batch, shape, loss, opt, cs, pool);
                 StepGraph g = new StepGraph(gpu, batch, shape, loss, opt, gs, pool, device)) {
                out.printf(Locale.ROOT, "%s: planned for the device in %.0f ms%n", arch, (System.nanoTime() - t0) / 1e6);
                for (int s = 1; s <= steps; s++) {
                    float[] data = new float[batch * sample];
                    long[] labels = new long[batch];
                    for (int i = 0; i < data.length; i++) {
                        data[i] = (float) r.nextGaussian();
                    }
                    for (int i = 0; i < batch; i++) {
                        labels[i] = r.nextInt(classes);
                    }
                    StepGraph.Result a = c.run(data, labels, 0.05, s, 1000 + s);
                    StepGraph.Result b = g.run(deviceInput.apply(data), labels, 0.05, s, 1000 + s);
                    double dl = relative(a.loss(), b.loss());
                    double dn = relative(a.gradNorm(), b.gradNorm());
                    // The first two steps check the ops (and, from the second run on, the captured CUDA graph).
                    // Later steps are reported, not judged: once training amplifies rounding differences (summation
                    // order, cuDNN's non-deterministic algorithms; two GPU runs differ from each other alike), the
                    // copies drift apart, more in a deep net with batch norm over tiny planes.
                    boolean early = s <= 2;
                    // How much rounding-sized differences move this step: more copies on the CPU take the batch
                    // with every pixel nudged by about 1e-6 relative, each with other nudges. A GPU difference
                    // within ten times the largest of theirs, or within the fixed bound, is rounding amplified by
                    // the net; a wrong op gives far more. Several copies, because one rounding-sized change can
                    // flip a ReLU whose input sits at 0 and move a whole channel's gradient: on the CPU alone,
                    // 7 of 12 nudges moved resnet8's layer2.0.conv2 gradient by 1.9e-2, 5 by under 1e-5.
                    double nl = 0, nn = 0;
                    if (early) {
                        for (Nudged m : nudged) {
                            StepGraph.Result x = m.step.run(nudge(data, m.random), labels, 0.05, s, 1000 + s);
                            nl = Math.max(nl, relative(a.loss(), x.loss()));
                            nn = Math.max(nn, relative(a.gradNorm(), x.gradNorm()));
                        }
                    }
                    boolean pass = dl < Math.max(1e-4, NOISE_FACTOR * nl) && dn < Math.max(1e-3, NOISE_FACTOR * nn)
                            && Math.abs(a.correct() - b.correct()) <= 1;
                    if (early) {
                        ok &= pass;
                    }
                    out.printf(Locale.ROOT, "[%s] %s step %d: loss cpu %.6f gpu %.6f (rel %.1e), correct %d/%d, "
                            + "grad norm cpu %.5f gpu %.5f (rel %.1e)%s%n", early ? (pass ? "PASS" : "FAIL") : "INFO",
                            arch, s, a.loss(), b.loss(), dl, a.correct(), b.correct(), a.gradNorm(), b.gradNorm(), dn,
                            early ? String.format(Locale.ROOT, "; nudged CPU copies up to: loss rel %.1e, grad norm "
                                    + "rel %.1e", nl, nn) : "");
                    if (s == 1) {
                        // One step from equal weights: the ops' agreement, before training dynamics amplify it.
                        download(device);
                        Map<String, Double> paramNoise = new java.util.HashMap<>();
                        Map<String, Double> stateNoise = new java.util.HashMap<>();
                        for (Nudged m : nudged) {
                            differences(cpu.stateDict(), m.module.stateDict()).forEach((k, v) -> paramNoise.merge(k, v,
                                    Math::max));
                            differences(cs.toArrays(), m.state.toArrays()).forEach((k, v) -> stateNoise.merge(k, v,
                                    Math::max));
                        }
                        ok &= close(arch + " parameters and buffers after step 1", cpu.stateDict(), gpu.stateDict(),
                                1e-4, paramNoise, out);
                        // The momentum buffers after one step hold the gradients (plus weight decay): a difference
                        // here and not in the step's arithmetic points at the backward pass, not the optimizer.
                        ok &= close(arch + " optimizer state after step 1", cs.toArrays(), gs.toArrays(), 1e-4,
                                stateNoise, out);
                    }
                }
            }
            download(device);
            close("(drift) " + arch + " parameters and buffers after " + steps + " steps", cpu.stateDict(),
                    gpu.stateDict(), Double.POSITIVE_INFINITY, Map.of(), out);
            close("(drift) " + arch + " optimizer state after " + steps + " steps", cs.toArrays(), gs.toArrays(),
                    Double.POSITIVE_INFINITY, Map.of(), out);
        } finally {
            nudged.forEach(Nudged::close);
        }
        return ok;
    }

    private static void download(DeviceSession device) {
        if (device != null) {
            device.download();
        }
    }

    /** How many CPU copies with nudged inputs set the bounds of the first two steps. */
    static final int NUDGES = 6;

    /** A CPU copy of the model that takes each batch with its own rounding-sized nudges. */
    private static final class Nudged implements AutoCloseable {
        final Module module;
        final OptimizerState state = new OptimizerState();
        final StepGraph step;
        final SplittableRandom random;

        Nudged(String arch, int[] shape, int classes, int batch, CrossEntropyLoss loss, Sgd opt, ThreadPool pool,
               long seed) {
            module = Zoo.create(arch, shape[0], shape[1], shape[2], classes);
            try {
                module.resetParameters(7);
                step = new StepGraph(module, batch, shape, loss, opt, state, pool);
            } catch (RuntimeException e) {
                state.close();
                module.close();
                throw e;
            }
            random = new SplittableRandom(seed);
        }

        @Override
        public void close() {
            step.close();
            state.close();
            module.close();
        }
    }

    /** Where two copies of a tensor differ: how many elements are near the worst difference, and the first few. */
    static String pattern(float[] x, float[] y) {
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs((double) x[i] - y[i]));
        }
        StringBuilder b = new StringBuilder();
        int near = 0;
        for (int i = 0; i < x.length; i++) {
            if (Math.abs((double) x[i] - y[i]) >= worst / 10) {
                if (near < 6) {
                    b.append(String.format(Locale.ROOT, " [%d] cpu %.7g gpu %.7g;", i, x[i], y[i]));
                }
                near++;
            }
        }
        return near + " of " + x.length + " elements differ by over a tenth of the worst:" + b;
    }

    /** How many times the nudged CPU copy's difference a GPU difference may be. */
    static final double NOISE_FACTOR = 10;

    static double relative(double want, double got) {
        return Math.abs(want - got) / Math.max(1e-6, Math.abs(want));
    }

    /** {@code data} with each value times (1 + u·2^-20), u uniform in [-1, 1): rounding-sized changes. */
    static float[] nudge(float[] data, SplittableRandom r) {
        float[] out = new float[data.length];
        for (int i = 0; i < data.length; i++) {
            out[i] = (float) (data[i] * (1 + (r.nextDouble() * 2 - 1) * 0x1p-20));
        }
        return out;
    }

    /** Each tensor's {@link #difference}. */
    static Map<String, Double> differences(Map<String, float[]> a, Map<String, float[]> b) {
        Map<String, Double> out = new java.util.HashMap<>();
        a.forEach((k, x) -> {
            float[] y = b.get(k);
            if (y != null && y.length == x.length) {
                out.put(k, difference(x, y));
            }
        });
        return out;
    }

    /**
     * Max |x - y| relative to max |x|, but at least 0.01 (a batch norm's running mean after a zero-mean input is
     * rounding noise on both sides); infinite where only one side is NaN.
     */
    static double difference(float[] x, float[] y) {
        double max = 1e-2, diff = 0;
        for (int i = 0; i < x.length; i++) {
            max = Math.max(max, Math.abs(x[i]));
            diff = Math.max(diff, Math.abs(x[i] - y[i]));
            if (Double.isNaN(y[i]) != Double.isNaN(x[i])) {
                diff = Double.POSITIVE_INFINITY;
            }
        }
        return diff / max;
    }

    /**
     * Each tensor's {@link #difference}; a tensor passes under {@code tol}, or under {@link #NOISE_FACTOR} times its
     * entry in {@code noise} (how far rounding-sized input changes moved it on the CPU). The line names the tensor
     * that came closest to its bound.
     */
    static boolean close(String what, Map<String, float[]> a, Map<String, float[]> b, double tol,
                         Map<String, Double> noise, PrintStream out) {
        if (!a.keySet().equals(b.keySet())) {
            out.println("[FAIL] " + what + ": different names " + a.keySet() + " vs " + b.keySet());
            return false;
        }
        double worst = -1, worstDiff = 0, worstNoise = 0;
        String where = "";
        Map<String, Double> over = new java.util.TreeMap<>();
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            double d = difference(e.getValue(), b.get(e.getKey()));
            double n = noise.getOrDefault(e.getKey(), 0.0);
            double ratio = Double.isInfinite(tol) ? d : d / Math.max(tol, NOISE_FACTOR * n);
            if (!Double.isInfinite(tol) && !(ratio < 1)) {
                over.put(e.getKey(), d);
            }
            if (ratio > worst) {
                worst = ratio;
                worstDiff = d;
                worstNoise = n;
                where = e.getKey();
            }
        }
        boolean pass = Double.isInfinite(tol) || worst < 1;
        out.printf(Locale.ROOT, "[%s] %s: %d tensors, worst relative difference %.2e (%s)%s%n",
                Double.isInfinite(tol) ? "INFO" : pass ? "PASS" : "FAIL", what, a.size(), worstDiff, where,
                noise.isEmpty() ? "" : String.format(Locale.ROOT, "; nudged CPU copies up to %.2e", worstNoise));
        if (!pass) {
            // Every tensor over its bound (a few at most), so that the first op to go wrong can be told apart.
            over.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(6)
                    .forEach(e -> out.printf(Locale.ROOT, "       %s (%.2e): %s%n", e.getKey(), e.getValue(),
                            pattern(a.get(e.getKey()), b.get(e.getKey()))));
            if (over.size() > 6) {
                out.println("       and " + (over.size() - 6) + " more tensors over their bounds");
            }
        }
        return pass;
    }
}
