package dev.tandem.train;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.data.Batch;
import dev.tandem.train.data.DataLoader;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.data.RandomCrop;
import dev.tandem.train.data.RandomHorizontalFlip;
import dev.tandem.train.data.Splits;
import dev.tandem.train.data.Transform;
import dev.tandem.train.engine.EvalGraph;
import dev.tandem.train.engine.OptimizerState;
import dev.tandem.train.engine.StepGraph;
import dev.tandem.train.io.Checkpoint;
import dev.tandem.train.io.CheckpointDir;
import dev.tandem.train.io.TensorData;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Adam;
import dev.tandem.train.optim.AdamW;
import dev.tandem.train.optim.LrSchedule;
import dev.tandem.train.optim.OneCycleLr;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.Sgd;
import dev.tandem.train.report.Charts;
import dev.tandem.train.report.EpochMetrics;
import dev.tandem.train.report.MetricsLog;
import dev.tandem.train.report.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Trains a zoo model on a data set and writes a run folder:
 * <ul>
 *   <li>{@code model.onnx} — the best epoch's weights (by test accuracy), with labels, preprocessing and
 *       provenance ({@link ModelExport});</li>
 *   <li>{@code metrics.csv}, {@code metrics.json} (per epoch and a summary), {@code curves.png},
 *       {@code confusion.png} (of the best epoch);</li>
 *   <li>{@code checkpoints/last.ckpt} after every epoch (written atomically; the previous one kept until the new one
 *       is complete) and {@code checkpoints/best.ckpt}.</li>
 * </ul>
 * A run is deterministic for its seed and thread count, and {@code resume} continues from the last checkpoint with
 * the same results as a run that was never interrupted: the data order and augmentation depend only on (seed,
 * epoch, sample) and dropout masks on (seed, step). A loss or gradient that stops being finite ends the run with a
 * {@link TrainingDivergedException}, leaving the last good checkpoint in place.
 *
 * <p>With {@link TrainOptions#device} set, every step and evaluation runs on that device session; the weights,
 * buffers and optimizer state stay there, and the trainer downloads them before it reads the host copies (best
 * weights, checkpoints, export). The results are the same as on the CPU up to the device's arithmetic.
 */
public final class Trainer {
    private static final String MODEL = "model/";
    private static final String OPTIM = "optim/";
    private static final String BEST = "best/";

    /** What a finished run reports. */
    public record Result(Path dir, Path model, int epochs, double testAccuracy, double bestTestAccuracy, int bestEpoch,
                         double seconds, double trainImagesPerSecond, boolean stoppedEarly) {
    }

    private final TrainOptions o;

    public Trainer(TrainOptions options) {
        if (options.out == null) {
            throw new IllegalArgumentException("No run folder: set TrainOptions.out");
        }
        this.o = options;
    }

    /**
     * Runs the training.
     *
     * @param dataName how the data set is named in the provenance (e.g. "fashion-mnist:/usr/share/...")
     * @throws TrainingDivergedException when the loss stops being finite
     * @throws IOException when the run folder cannot be written (nothing already written is lost)
     */
    public Result fit(Splits data, String dataName) throws IOException {
        Dataset train = data.train(), test = data.test();
        if (train.size() < 2) {
            throw new IllegalArgumentException("The training set has " + train.size() + " samples; at least 2 needed");
        }
        if (!test.classes().equals(train.classes())) {
            throw new IllegalArgumentException("The test set's classes " + test.classes() + " differ from the "
                    + "training set's " + train.classes());
        }
        Files.createDirectories(o.out);
        int[] shape = {train.channels(), train.height(), train.width()};
        List<String> classes = train.classes();
        CheckpointDir ckpts = new CheckpointDir(o.out.resolve("checkpoints"), true);
        Normalize normalize = Normalize.of(train);
        List<Transform> augment = new ArrayList<>();
        if (o.cropPadding > 0) {
            augment.add(new RandomCrop(o.cropPadding));
        }
        if (o.flip) {
            augment.add(new RandomHorizontalFlip(0.5));
        }
        augment.add(normalize);
        Optimizer opt = optimizer();
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(o.labelSmoothing);
        Map<Integer, StepGraph> steps = new HashMap<>();
        Map<Integer, EvalGraph> evals = new HashMap<>();
        try (ThreadPool pool = new ThreadPool(o.threads);
             Module module = Zoo.create(o.arch, shape[0], shape[1], shape[2], classes.size());
             OptimizerState state = new OptimizerState();
             DataLoader trainLoader = DataLoader.builder(train).batchSize(o.batch).shuffle(true).dropLast(false)
                     .seed(o.seed).workers(o.workers).transforms(augment).build();
             DataLoader testLoader = DataLoader.builder(test).batchSize(o.evalBatch).shuffle(false)
                     .dropLast(false).seed(o.seed).workers(o.workers).transforms(normalize).build()) {
            module.resetParameters(o.seed);
            DeviceSession device = o.device;
            if (device != null) {
                o.progress.out().println("Training on " + device.summary());
            }
            long perEpoch = trainLoader.batchesPerEpoch();
            if (o.maxStepsPerEpoch > 0) {
                perEpoch = Math.min(perEpoch, o.maxStepsPerEpoch);
            }
            LrSchedule schedule = schedule(perEpoch * o.epochs);
            MetricsLog metrics = MetricsLog.open(o.out);
            int startEpoch = 0;
            long step = 0;
            double best = -1;
            int bestEpoch = 0, sinceBest = 0;
            Map<String, float[]> bestWeights = module.stateDict();
            long[][] bestConfusion = null;
            if (o.resume) {
                Optional<CheckpointDir.Found> found = ckpts.latest();
                if (found.isPresent()) {
                    Checkpoint.Contents c = found.get().contents();
                    checkCompatible(c.state());
                    module.loadStateDict(prefixed(c, MODEL), true);
                    state.preload(prefixed(c, OPTIM));
                    bestWeights = prefixed(c, BEST);
                    startEpoch = ((Number) c.state().get("epoch")).intValue();
                    step = ((Number) c.state().get("step")).longValue();
                    best = ((Number) c.state().get("best_accuracy")).doubleValue();
                    bestEpoch = ((Number) c.state().get("best_epoch")).intValue();
                    sinceBest = ((Number) c.state().get("since_best")).intValue();
                    bestConfusion = confusionFrom(c.state().get("best_confusion"));
                    o.progress.out().println("Resuming " + o.out + " after epoch " + startEpoch + " (step " + step
                            + ", from " + found.get().file().getFileName() + ")");
                }
            }
            long started = System.nanoTime();
            boolean stoppedEarly = false;
            for (int epoch = startEpoch + 1; epoch <= o.epochs; epoch++) {
                long t0 = System.nanoTime();
                double lossSum = 0;
                long correct = 0, seen = 0;
                double lr = 0;
                StepGraph.Pending pending = null;
                int pendingSize = 0;
                long total = Math.min((long) train.size(), perEpoch * o.batch);
                try (Progress bar = Progress.start(o.progress, "epoch " + epoch + "/" + o.epochs, total);
                     DataLoader.Epoch batches = trainLoader.epoch(epoch - 1)) {
                    for (long b = 0; b < perEpoch && batches.hasNext(); b++) {
                        Batch batch = batches.next();
                        if (batch.size() < 2) {
                            continue;
                        }
                        StepGraph g = steps.get(batch.size());
                        if (g == null) {
                            g = new StepGraph(module, batch.size(), shape, loss, opt, state, pool, device);
                            steps.put(batch.size(), g);
                        }
                        lr = schedule.lr(step);
                        double momentum = o.cyclesMomentum() && schedule instanceof OneCycleLr one
                                ? one.momentum(step, 0.85, 0.95) : Double.NaN;
                        step++;
                        // On a GPU the step is queued and the next batch staged while it computes; its result is
                        // read after the next step was submitted (on the CPU, submit runs the step at once).
                        StepGraph.Pending p;
                        try {
                            p = g.submit(batch.data(), batch.labels(), lr, momentum, step,
                                    o.seed * 0x9E3779B97F4A7C15L + step);
                        } catch (ModelException e) {
                            drain(pending);
                            throw diverged(epoch, step, e.getMessage(), e);
                        }
                        if (pending != null) {
                            StepGraph.Result r;
                            try {
                                r = collect(pending, epoch, step - 1);
                            } catch (RuntimeException e) {
                                drain(p); // the step queued after it: wait for it so that nothing is left running
                                throw e;
                            }
                            lossSum += r.loss() * pendingSize;
                            correct += r.correct();
                            seen += pendingSize;
                            bar.update(seen, lossSum / seen, correct / (double) seen);
                        }
                        pending = p;
                        pendingSize = batch.size();
                    }
                    if (pending != null) {
                        StepGraph.Result r = collect(pending, epoch, step);
                        lossSum += r.loss() * pendingSize;
                        correct += r.correct();
                        seen += pendingSize;
                        bar.update(seen, lossSum / seen, correct / (double) seen);
                    }
                }
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                Evaluation ev = evaluate(module, testLoader, shape, classes.size(), evals, pool, device);
                if (device != null) {
                    // The host copies of the weights, buffers and optimizer state are read below (best weights,
                    // checkpoint): bring them up to date.
                    device.download();
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                metrics.append(new EpochMetrics(epoch, lossSum / Math.max(1, seen), correct / (double) Math.max(1, seen),
                        ev.loss, ev.accuracy, lr, seconds, seen / trainSeconds));
                o.progress.out().printf("epoch %d/%d: train loss %.4f acc %.4f, test loss %.4f acc %.4f, %.0f images/s%n",
                        epoch, o.epochs, lossSum / Math.max(1, seen), correct / (double) Math.max(1, seen), ev.loss,
                        ev.accuracy, seen / trainSeconds);
                if (ev.accuracy > best) {
                    best = ev.accuracy;
                    bestEpoch = epoch;
                    sinceBest = 0;
                    bestWeights = module.stateDict();
                    bestConfusion = ev.confusion;
                } else {
                    sinceBest++;
                }
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("epoch", epoch);
                st.put("step", step);
                st.put("best_accuracy", best);
                st.put("best_epoch", bestEpoch);
                st.put("since_best", sinceBest);
                st.put("best_confusion", bestConfusion);
                st.put("recipe", o.recipe());
                ckpts.saveLast(tensors(module.stateDict(), state.toArrays(), bestWeights), st);
                if (bestEpoch == epoch) {
                    ckpts.copyLastToBest();
                }
                if (epoch == o.stopAfterEpoch) {
                    return null;
                }
                if (o.patience > 0 && sinceBest >= o.patience && epoch < o.epochs) {
                    o.progress.out().println("Stopping early: no better test accuracy for " + o.patience
                            + " epochs (best " + best + " at epoch " + bestEpoch + ")");
                    stoppedEarly = true;
                    break;
                }
            }
            module.loadStateDict(bestWeights, true);
            if (device != null) {
                // The host weights changed after the graphs attached them: keep the device copies in step.
                device.upload();
            }
            MetricsLog.Summary summary = metrics.summary();
            Map<String, Object> prov = new LinkedHashMap<>();
            prov.put("dataset", dataName);
            prov.put("dataset_sha256", data.sha256());
            prov.put("recipe", o.recipe());
            Map<String, Object> fin = new LinkedHashMap<>();
            fin.put("test_accuracy", best);
            fin.put("best_epoch", bestEpoch);
            fin.put("epochs", summary.epochs());
            prov.put("metrics", fin);
            prov.put("tandem_version", Version.TANDEM);
            Path model = o.out.resolve("model.onnx");
            ModelExport.write(module, shape, classes, normalize, ModelExport.provenance(prov), model);
            metrics.put("dataset", dataName);
            metrics.put("dataset_sha256", data.sha256());
            metrics.put("recipe", o.recipe());
            metrics.put("model", model.toString());
            metrics.put("device", device != null ? device.summary() : "cpu");
            metrics.put("test_accuracy_of_model", best);
            metrics.writeJson();
            Charts.curves(metrics.epochs(), o.out.resolve("curves.png"));
            if (bestConfusion != null) {
                Charts.confusion(bestConfusion, classes, o.out.resolve("confusion.png"));
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            return new Result(o.out, model, summary.epochs(), summary.testAccuracy(), best, bestEpoch, seconds,
                    summary.trainImagesPerSecond(), stoppedEarly);
        } finally {
            steps.values().forEach(StepGraph::close);
            evals.values().forEach(EvalGraph::close);
        }
    }

    /** Waits for a submitted step whose result no longer matters (a run that is ending with an error). */
    private static void drain(StepGraph.Pending p) {
        if (p != null) {
            try {
                p.result();
            } catch (RuntimeException ignored) {
                // the error being reported is the earlier one
            }
        }
    }

    /** A submitted step's result; a non-finite loss or gradient ends the run as diverged. */
    private StepGraph.Result collect(StepGraph.Pending p, int epoch, long step) {
        StepGraph.Result r;
        try {
            r = p.result();
        } catch (ModelException e) {
            throw diverged(epoch, step, e.getMessage(), e);
        }
        if (!Double.isFinite(r.loss())) {
            throw diverged(epoch, step, "the loss is " + r.loss(), null);
        }
        return r;
    }

    private TrainingDivergedException diverged(int epoch, long step, String why, Throwable cause) {
        return new TrainingDivergedException("Training diverged at epoch " + epoch + ", step " + step + ": " + why
                + ". The parameters were not updated with this step; " + o.out.resolve("checkpoints")
                + " holds the last good checkpoint (resume with a lower learning rate).", cause);
    }

    /** Test loss (plain cross-entropy), accuracy and confusion matrix [true][predicted]. */
    record Evaluation(double loss, double accuracy, long[][] confusion) {
    }

    static Evaluation evaluate(Module module, DataLoader loader, int[] shape, int classes,
                               Map<Integer, EvalGraph> graphs, ThreadPool pool, DeviceSession device) {
        long[][] confusion = new long[classes][classes];
        double lossSum = 0;
        long n = 0, correct = 0;
        try (DataLoader.Epoch batches = loader.epoch(0)) {
            while (batches.hasNext()) {
                Batch b = batches.next();
                EvalGraph g = graphs.computeIfAbsent(b.size(), s -> new EvalGraph(module, s, shape, pool, device));
                float[] logits = g.logits(b.data());
                for (int i = 0; i < b.size(); i++) {
                    int y = (int) b.labels()[i];
                    int argmax = 0;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < classes; c++) {
                        double v = logits[i * classes + c];
                        if (v > max) {
                            max = v;
                            argmax = c;
                        }
                    }
                    double sum = 0;
                    for (int c = 0; c < classes; c++) {
                        sum += Math.exp(logits[i * classes + c] - max);
                    }
                    lossSum += max + Math.log(sum) - logits[i * classes + y];
                    confusion[y][argmax]++;
                    correct += argmax == y ? 1 : 0;
                    n++;
                }
            }
        }
        return new Evaluation(lossSum / Math.max(1, n), correct / (double) Math.max(1, n), confusion);
    }

    private Optimizer optimizer() {
        return switch (o.optimizer) {
            case SGD -> Sgd.of(o.lr).withMomentum(o.momentum).withNesterov(o.nesterov && o.momentum > 0)
                    .withWeightDecay(o.weightDecay).withMaxGradNorm(o.maxGradNorm);
            case ADAM -> Adam.of(o.lr).withWeightDecay(o.weightDecay).withMaxGradNorm(o.maxGradNorm);
            case ADAMW -> AdamW.of(o.lr).withWeightDecay(o.weightDecay).withMaxGradNorm(o.maxGradNorm);
        };
    }

    private LrSchedule schedule(long totalSteps) {
        long warm = Math.round(totalSteps * o.warmupFraction);
        return switch (o.schedule) {
            case ONECYCLE -> LrSchedule.oneCycle(o.lr, totalSteps, o.warmupFraction);
            case COSINE -> LrSchedule.cosine(o.lr, totalSteps, 0, warm);
            case STEP -> LrSchedule.step(o.lr, Math.max(1, totalSteps / 3), 0.1);
            case CONSTANT -> LrSchedule.constant(o.lr);
        };
    }

    private void checkCompatible(Map<String, Object> saved) {
        Object recipe = saved.get("recipe");
        if (recipe instanceof Map<?, ?> r) {
            for (String key : List.of("arch", "batch", "optimizer", "seed")) {
                Object was = r.get(key), now = o.recipe().get(key);
                if (was != null && !String.valueOf(was).equals(String.valueOf(now))) {
                    throw new IllegalArgumentException("Cannot resume " + o.out + ": it was trained with " + key + " = "
                            + was + ", this run asks for " + now + " (use the same options, or a new --out)");
                }
            }
        }
    }

    private static Map<String, float[]> prefixed(Checkpoint.Contents c, String prefix) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String k : c.tensors().keySet()) {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), c.floats(k));
            }
        }
        return out;
    }

    private static Map<String, TensorData> tensors(Map<String, float[]> model, Map<String, float[]> optim,
                                                   Map<String, float[]> best) {
        Map<String, TensorData> t = new LinkedHashMap<>();
        model.forEach((k, v) -> t.put(MODEL + k, new TensorData.F32(v)));
        optim.forEach((k, v) -> t.put(OPTIM + k, new TensorData.F32(v)));
        best.forEach((k, v) -> t.put(BEST + k, new TensorData.F32(v)));
        return t;
    }

    private static long[][] confusionFrom(Object saved) {
        if (!(saved instanceof List<?> rows)) {
            return null;
        }
        long[][] m = new long[rows.size()][];
        for (int i = 0; i < m.length; i++) {
            List<?> row = (List<?>) rows.get(i);
            m[i] = new long[row.size()];
            for (int j = 0; j < m[i].length; j++) {
                m[i][j] = ((Number) row.get(j)).longValue();
            }
        }
        return m;
    }
}
