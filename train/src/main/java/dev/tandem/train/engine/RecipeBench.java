package dev.tandem.train.engine;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.data.Batch;
import dev.tandem.train.data.DataLoader;
import dev.tandem.train.data.DataSpec;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.data.RandomHorizontalFlip;
import dev.tandem.train.data.Splits;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.LrSchedule;
import dev.tandem.train.optim.OneCycleLr;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.Sgd;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The FashionNet reference recipe on Fashion-MNIST, timed, on the CPU or a GPU: the same steps as
 * {@code tandem train --data fashion-mnist:DIR} (batch 128, SGD Nesterov momentum 0.9 cycled 0.95-0.85, weight
 * decay 5e-4, one-cycle learning rate peaking at 0.1 after 25% of the steps, label smoothing 0.1, random horizontal
 * flips, normalisation by the training set's statistics, seed 1), driven through {@link StepGraph},
 * {@link EvalGraph} and {@link DataLoader} directly, with the test set evaluated after every epoch on the same
 * device. It writes no run folder and loads nothing beyond the runtime and train classes it uses (no JSON, charts,
 * progress bar or java.desktop), so it runs on a minimal runtime image.
 *
 * <pre>
 * java -cp runtime.jar:train.jar:cuda.jar:protobuf.jar dev.tandem.train.engine.RecipeBench --data DIR
 *     [--epochs 10] [--device cuda|cpu] [--batch 128] [--threads T] [--max-steps N] [--seed 1]
 * </pre>
 *
 * One line per epoch, then {@code RESULT device=<cpu|cuda> epochs=<n> train_seconds=<s> total_seconds=<s>
 * test_accuracy=<last> best=<best>}. Exit codes: 0 done, 2 bad arguments, 3 the device is unavailable.
 */
public final class RecipeBench {
    private static final int EVAL_BATCH = 256;

    private RecipeBench() {
    }

    public static void main(String[] args) {
        int rc = run(args, System.out, System.err);
        System.out.flush();
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** Runs the benchmark; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Path data = null;
        int epochs = 10, batch = 128, threads = Runtime.getRuntime().availableProcessors();
        long maxSteps = 0, seed = 1;
        int workers = -1;
        boolean sync = false;
        String device = "cuda";
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = i + 1 < args.length ? args[i + 1] : null;
                if (v == null) {
                    throw new IllegalArgumentException(a + " needs a value");
                }
                switch (a) {
                    case "--data" -> data = Path.of(v);
                    case "--epochs" -> epochs = Integer.parseInt(v);
                    case "--device" -> device = v.toLowerCase(Locale.ROOT);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--max-steps" -> maxSteps = Long.parseLong(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--workers" -> workers = Integer.parseInt(v);
                    case "--sync" -> {
                        sync = Boolean.parseBoolean(v);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
                i++;
            }
            if (data == null) {
                throw new IllegalArgumentException("--data DIR is required (the Fashion-MNIST IDX files)");
            }
            if (!device.equals("cpu") && !device.equals("cuda")) {
                throw new IllegalArgumentException("--device must be cpu or cuda; got " + device);
            }
            if (epochs < 1 || batch < 2 || threads < 1 || maxSteps < 0) {
                throw new IllegalArgumentException("need --epochs >= 1, --batch >= 2, --threads >= 1, --max-steps >= 0");
            }
        } catch (IllegalArgumentException e) {
            err.println("RecipeBench: " + e.getMessage());
            err.println("usage: RecipeBench --data DIR [--epochs 10] [--device cuda|cpu] [--batch 128] [--threads T]"
                    + " [--max-steps N] [--seed 1] [--workers W] [--sync true|false]");
            return 2;
        }
        DeviceSession session = null;
        if (device.equals("cuda")) {
            Optional<BackendProvider> cuda = Backends.installed(RecipeBench.class.getClassLoader()).find("cuda");
            if (cuda.isEmpty()) {
                err.println("RecipeBench: no CUDA backend on the class path (add the tandem-cuda jar)");
                return 3;
            }
            BackendEnvironment env = BackendEnvironment.system();
            BackendProbe p = cuda.get().probe(env);
            if (!p.supports(Capability.TRAINING)) {
                err.println("RecipeBench: the GPU cannot train: " + p.whyNot(Capability.TRAINING));
                p.details().forEach(d -> err.println("  " + d));
                return 3;
            }
            try {
                session = cuda.get().open(env);
            } catch (RuntimeException e) {
                err.println("RecipeBench: " + p.summary() + " failed to open: " + e);
                return 3;
            }
        }
        try {
            out.println("Device: " + (session != null ? session.summary()
                    : "cpu (" + threads + " threads)"));
            out.flush();
            // On a GPU the loader must keep up with the device: several threads (the CPU computes nothing else).
            int w = workers >= 0 ? workers : session != null ? Math.max(1, Math.min(8,
                    Runtime.getRuntime().availableProcessors() / 2)) : 1;
            dev.tandem.train.data.Splits splits;
            try {
                splits = new DataSpec(DataSpec.Kind.FASHION_MNIST, data).load(null);
            } catch (dev.tandem.train.data.DataException e) {
                err.println("RecipeBench: " + e.getMessage());
                return 2;
            }
            bench(splits, epochs, batch, threads, maxSteps, seed, device, session, out, w, sync);
            return 0;
        } finally {
            if (session != null) {
                session.close();
            }
        }
    }

    private static void bench(Splits data, int epochs, int batchSize, int threads, long maxSteps, long seed,
                              String device, DeviceSession session, PrintStream out, int workers, boolean sync) {
        Dataset train = data.train(), test = data.test();
        int[] shape = {train.channels(), train.height(), train.width()};
        int classes = train.classes().size();
        Normalize normalize = Normalize.of(train);
        Optimizer opt = Sgd.of(0.1).withMomentum(0.9).withNesterov(true).withWeightDecay(5e-4).withMaxGradNorm(0);
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(0.1);
        Map<Integer, StepGraph> steps = new HashMap<>();
        Map<Integer, Integer> stepRuns = new HashMap<>();
        Map<Integer, EvalGraph> evals = new HashMap<>();
        try (ThreadPool pool = new ThreadPool(threads);
             Module module = Zoo.create("fashionnet", shape[0], shape[1], shape[2], classes);
             OptimizerState state = new OptimizerState();
             DataLoader trainLoader = DataLoader.builder(train).batchSize(batchSize).shuffle(true).dropLast(false)
                     .seed(seed).workers(workers).transforms(List.of(new RandomHorizontalFlip(0.5), normalize)).build();
             DataLoader testLoader = DataLoader.builder(test).batchSize(EVAL_BATCH).shuffle(false).dropLast(false)
                     .seed(seed).workers(workers).transforms(normalize).build()) {
            module.resetParameters(seed);
            long perEpoch = trainLoader.batchesPerEpoch();
            if (maxSteps > 0) {
                perEpoch = Math.min(perEpoch, maxSteps);
            }
            LrSchedule schedule = LrSchedule.oneCycle(0.1, perEpoch * epochs, 0.25);
            long step = 0;
            double trainSeconds = 0, best = -1, last = 0;
            long started = System.nanoTime();
            for (int epoch = 1; epoch <= epochs; epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                long correct = 0, seen = 0, waitNanos = 0, stepNanos = 0, buildNanos = 0, firstStepsNanos = 0;
                StepGraph.Pending pending = null;
                int pendingSize = 0;
                try (DataLoader.Epoch batches = trainLoader.epoch(epoch - 1)) {
                    for (long b = 0; b < perEpoch && batches.hasNext(); b++) {
                        long w0 = System.nanoTime();
                        Batch batch = batches.next();
                        long w1 = System.nanoTime();
                        waitNanos += w1 - w0;
                        if (batch.size() < 2) {
                            continue;
                        }
                        StepGraph g = steps.get(batch.size());
                        if (g == null) {
                            long b0 = System.nanoTime();
                            g = new StepGraph(module, batch.size(), shape, loss, opt, state, pool, session);
                            buildNanos += System.nanoTime() - b0;
                            steps.put(batch.size(), g);
                        }
                        // a graph's first two steps: planned memory bound, kernels loaded, algorithms chosen, the
                        // CUDA graph captured (reported apart, so that a GPU run shows what the first epoch pays)
                        int runs = stepRuns.merge(batch.size(), 1, Integer::sum);
                        long s0 = System.nanoTime();
                        double lr = schedule.lr(step);
                        double momentum = schedule instanceof OneCycleLr one ? one.momentum(step, 0.85, 0.95)
                                : Double.NaN;
                        step++;
                        // On a device the next batch is staged while this step computes: its result is read
                        // after the following step was submitted (--sync true waits for every step).
                        StepGraph.Pending p;
                        try {
                            if (sync) {
                                StepGraph.Result done = g.run(batch.data(), batch.labels(), lr, momentum, step,
                                        seed * 0x9E3779B97F4A7C15L + step);
                                p = () -> done;
                            } else {
                                p = g.submit(batch.data(), batch.labels(), lr, momentum, step,
                                        seed * 0x9E3779B97F4A7C15L + step);
                            }
                        } catch (ModelException e) {
                            throw new IllegalStateException("diverged at epoch " + epoch + ", step " + step, e);
                        }
                        if (pending != null) {
                            StepGraph.Result r = collect(pending, epoch, step - 1);
                            lossSum += r.loss() * pendingSize;
                            correct += r.correct();
                            seen += pendingSize;
                        }
                        pending = p;
                        pendingSize = batch.size();
                        if (runs <= 2) {
                            firstStepsNanos += System.nanoTime() - s0;
                        }
                        stepNanos += System.nanoTime() - w1;
                    }
                    if (pending != null) {
                        StepGraph.Result r = collect(pending, epoch, step);
                        lossSum += r.loss() * pendingSize;
                        correct += r.correct();
                        seen += pendingSize;
                        pending = null;
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                trainSeconds += seconds;
                last = accuracy(module, testLoader, shape, classes, evals, pool, session);
                best = Math.max(best, last);
                out.printf(Locale.ROOT, "epoch %d/%d train_loss=%.4f train_acc=%.4f test_acc=%.4f train_seconds=%.3f "
                                + "images_per_second=%.1f (waiting for data %.3f s, in steps %.3f s; of which building "
                                + "step graphs %.3f s, their first two steps %.3f s)%n", epoch, epochs,
                        lossSum / Math.max(1, seen), correct / (double) Math.max(1, seen), last, seconds,
                        seen / seconds, waitNanos / 1e9, stepNanos / 1e9, buildNanos / 1e9, firstStepsNanos / 1e9);
                out.flush();
            }
            double total = (System.nanoTime() - started) / 1e9;
            out.printf(Locale.ROOT, "RESULT device=%s epochs=%d train_seconds=%.3f total_seconds=%.3f "
                    + "test_accuracy=%.4f best=%.4f%n", device, epochs, trainSeconds, total, last, best);
            out.flush();
        } finally {
            steps.values().forEach(StepGraph::close);
            evals.values().forEach(EvalGraph::close);
        }
    }

    private static StepGraph.Result collect(StepGraph.Pending p, int epoch, long step) {
        StepGraph.Result r;
        try {
            r = p.result();
        } catch (ModelException e) {
            throw new IllegalStateException("diverged at epoch " + epoch + ", step " + step, e);
        }
        if (!Double.isFinite(r.loss())) {
            throw new IllegalStateException("diverged at epoch " + epoch + ", step " + step + ": the loss is "
                    + r.loss());
        }
        return r;
    }

    /** Top-1 accuracy on the loader's data set, as {@code Trainer} evaluates (eval mode, same device). */
    private static double accuracy(Module module, DataLoader loader, int[] shape, int classes,
                                   Map<Integer, EvalGraph> graphs, ThreadPool pool, DeviceSession session) {
        long n = 0, correct = 0;
        try (DataLoader.Epoch batches = loader.epoch(0)) {
            while (batches.hasNext()) {
                Batch b = batches.next();
                EvalGraph g = graphs.computeIfAbsent(b.size(), s -> new EvalGraph(module, s, shape, pool, session));
                float[] logits = g.logits(b.data());
                for (int i = 0; i < b.size(); i++) {
                    int argmax = 0;
                    for (int c = 1; c < classes; c++) {
                        if (logits[i * classes + c] > logits[i * classes + argmax]) {
                            argmax = c;
                        }
                    }
                    correct += argmax == b.labels()[i] ? 1 : 0;
                    n++;
                }
            }
        }
        return correct / (double) Math.max(1, n);
    }
}
