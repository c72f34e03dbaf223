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

    static int run(String[] args, PrintStream out) {
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
        BackendEnvironment env = BackendEnvironment.system().withProperty("tandem.cuda.tf32", "false");
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
                    ok &= compare(arch, steps, batch, device, pool, out);
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

    private static boolean compare(String arch, int steps, int batch, DeviceSession device, ThreadPool pool,
                                   PrintStream out) {
        int[] shape = arch.equals("fashionnet") ? new int[] {1, 28, 28} : new int[] {3, 32, 32};
        int classes = 10;
        Sgd opt = new Sgd(0.05, 0.9, true, 5e-4, 0, false);
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(0.1);
        SplittableRandom r = new SplittableRandom(42);
        int sample = shape[0] * shape[1] * shape[2];
        boolean ok = true;
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
                        Map.of("logits", ge.logits(evalData)), 1e-4, out);
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
                    StepGraph.Result b = g.run(data, labels, 0.05, s, 1000 + s);
                    double dl = Math.abs(a.loss() - b.loss()) / Math.max(1e-6, Math.abs(a.loss()));
                    double dn = Math.abs(a.gradNorm() - b.gradNorm()) / Math.max(1e-6, Math.abs(a.gradNorm()));
                    // The first two steps check the ops (and, from the second run on, the captured CUDA graph).
                    // Later steps are reported, not judged: once training amplifies rounding differences (summation
                    // order, cuDNN's non-deterministic algorithms; two GPU runs differ from each other alike), the
                    // copies drift apart, more in a deep net with batch norm over tiny planes.
                    boolean early = s <= 2;
                    boolean pass = dl < 1e-4 && dn < 1e-3 && Math.abs(a.correct() - b.correct()) <= 1;
                    if (early) {
                        ok &= pass;
                    }
                    out.printf(Locale.ROOT, "[%s] %s step %d: loss cpu %.6f gpu %.6f (rel %.1e), correct %d/%d, "
                            + "grad norm cpu %.5f gpu %.5f (rel %.1e)%n", early ? (pass ? "PASS" : "FAIL") : "INFO",
                            arch, s, a.loss(), b.loss(), dl, a.correct(), b.correct(), a.gradNorm(), b.gradNorm(), dn);
                    if (s == 1) {
                        // One step from equal weights: the ops' agreement, before training dynamics amplify it.
                        device.download();
                        ok &= close(arch + " parameters and buffers after step 1", cpu.stateDict(), gpu.stateDict(),
                                1e-4, out);
                    }
                }
            }
            device.download();
            close("(drift) " + arch + " parameters and buffers after " + steps + " steps", cpu.stateDict(),
                    gpu.stateDict(), Double.POSITIVE_INFINITY, out);
            close("(drift) " + arch + " optimizer state after " + steps + " steps", cs.toArrays(), gs.toArrays(),
                    Double.POSITIVE_INFINITY, out);
        }
        return ok;
    }

    /**
     * Max |a - b| over each tensor, relative to the tensor's max |a| but at least 0.01 (a batch norm's running mean
     * after a zero-mean input is rounding noise on both sides); passes under {@code tol}.
     */
    private static boolean close(String what, Map<String, float[]> a, Map<String, float[]> b, double tol,
                                 PrintStream out) {
        double worst = 0;
        String where = "";
        if (!a.keySet().equals(b.keySet())) {
            out.println("[FAIL] " + what + ": different names " + a.keySet() + " vs " + b.keySet());
            return false;
        }
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            float[] x = e.getValue(), y = b.get(e.getKey());
            double max = 1e-2, diff = 0;
            for (int i = 0; i < x.length; i++) {
                max = Math.max(max, Math.abs(x[i]));
                diff = Math.max(diff, Math.abs(x[i] - y[i]));
                if (Double.isNaN(y[i]) != Double.isNaN(x[i])) {
                    diff = Double.POSITIVE_INFINITY;
                }
            }
            if (diff / max > worst) {
                worst = diff / max;
                where = e.getKey();
            }
        }
        boolean pass = worst < tol;
        out.printf(Locale.ROOT, "[%s] %s: %d tensors, worst relative difference %.2e (%s)%n",
                Double.isInfinite(tol) ? "INFO" : pass ? "PASS" : "FAIL",
                what, a.size(), worst, where);
        return pass;
    }
}
