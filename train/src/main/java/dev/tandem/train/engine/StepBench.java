package dev.tandem.train.engine;

import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Sgd;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Training-step throughput of a zoo model on synthetic batches (prepared beforehand and cycled, as PyTorch's
 * reference figures are measured): the GPU target's "ResNet-18, 3×32×32, batch 256" and the like. SGD with Nesterov
 * momentum, cross-entropy; steps are submitted with one in flight on a device. Loads no JSON, chart or desktop
 * classes, so it runs from the GPU bundle.
 *
 * <p>{@code java -cp ... dev.tandem.train.engine.StepBench [--arch resnet18] [--input 3x32x32] [--classes 10]
 * [--batch 256] [--steps 50] [--warmup 10] [--device cuda|cpu] [--threads T]}; prints
 * {@code RESULT arch=.. device=.. batch=.. steps=.. ms_per_step=.. images_per_second=..}. Exit 0, 2 bad
 * arguments, 3 no usable device.
 */
public final class StepBench {
    private StepBench() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String arch = "resnet18", device = "cuda";
        int[] input = {3, 32, 32};
        int classes = 10, batch = 256, steps = 50, warmup = 10, threads = Runtime.getRuntime().availableProcessors();
        try {
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String v = args[i + 1];
                switch (args[i]) {
                    case "--arch" -> arch = v;
                    case "--input" -> input = Arrays.stream(v.split("x")).mapToInt(Integer::parseInt).toArray();
                    case "--classes" -> classes = Integer.parseInt(v);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--device" -> device = v.toLowerCase(Locale.ROOT);
                    case "--threads" -> threads = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (!Zoo.architectures().contains(arch.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("unknown --arch '" + arch + "'; known: "
                        + String.join(", ", Zoo.architectures()));
            }
            if (input.length != 3 || batch < 2 || steps < 1 || warmup < 0 || threads < 1
                    || !(device.equals("cpu") || device.equals("cuda"))) {
                throw new IllegalArgumentException("need --input CxHxW, --batch >= 2, --steps >= 1, --warmup >= 0, "
                        + "--device cpu|cuda");
            }
        } catch (IllegalArgumentException e) {
            err.println("StepBench: " + e.getMessage());
            err.println("usage: StepBench [--arch resnet18] [--input 3x32x32] [--classes 10] [--batch 256] "
                    + "[--steps 50] [--warmup 10] [--device cuda|cpu] [--threads T]");
            return 2;
        }
        DeviceSession session = null;
        if (device.equals("cuda")) {
            Optional<BackendProvider> cuda = Backends.installed(StepBench.class.getClassLoader()).find("cuda");
            BackendEnvironment env = BackendEnvironment.system();
            BackendProbe p = cuda.map(c -> c.probe(env)).orElse(null);
            if (p == null || !p.supports(Capability.TRAINING)) {
                err.println("StepBench: no GPU that can train: " + (p == null ? "no CUDA backend on the class path"
                        : p.whyNot(Capability.TRAINING)));
                return 3;
            }
            session = cuda.get().open(env);
        }
        int sample = input[0] * input[1] * input[2];
        SplittableRandom r = new SplittableRandom(1);
        int distinct = 8;
        float[][] data = new float[distinct][batch * sample];
        long[][] labels = new long[distinct][batch];
        for (int b = 0; b < distinct; b++) {
            for (int i = 0; i < data[b].length; i++) {
                data[b][i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < batch; i++) {
                labels[b][i] = r.nextInt(classes);
            }
        }
        try (ThreadPool pool = new ThreadPool(threads);
             Module module = Zoo.create(arch, input[0], input[1], input[2], classes);
             OptimizerState state = new OptimizerState()) {
            module.resetParameters(1);
            out.println("Device: " + (session != null ? session.summary() : "cpu (" + threads + " threads)"));
            try (StepGraph g = new StepGraph(module, batch, input, new CrossEntropyLoss(),
                    new Sgd(0.01, 0.9, true, 5e-4, 0, false), state, pool, session)) {
                StepGraph.Pending pending = null;
                long started = 0;
                double loss = Double.NaN;
                for (int s = 1; s <= warmup + steps; s++) {
                    if (s == warmup + 1) {
                        if (pending != null) {
                            loss = pending.result().loss();
                            pending = null;
                        }
                        started = System.nanoTime();
                    }
                    StepGraph.Pending p = g.submit(data[s % distinct], labels[s % distinct], 0.01, Double.NaN, s, s);
                    if (pending != null) {
                        loss = pending.result().loss();
                    }
                    pending = p;
                }
                loss = pending.result().loss();
                double seconds = (System.nanoTime() - started) / 1e9;
                out.printf(Locale.ROOT, "RESULT arch=%s device=%s batch=%d steps=%d ms_per_step=%.3f "
                        + "images_per_second=%.0f loss=%.4f%n", arch, device, batch, steps, seconds * 1e3 / steps,
                        steps * (double) batch / seconds, loss);
                return 0;
            }
        } finally {
            if (session != null) {
                session.close();
            }
        }
    }
}
