package dev.tandem.train;

import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.train.report.Progress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training recipe and where to write the run: the defaults are FashionNet's reference recipe
 * (../shared/BENCHMARKS.md): batch 128, SGD with Nesterov momentum 0.9, weight decay 5e-4, one-cycle learning rate
 * peaking at 0.1 after 25% of the steps, cross-entropy with label smoothing 0.1, random horizontal flips. Mutable
 * builder style: {@code new TrainOptions().arch("resnet20").epochs(30).out(dir)}.
 */
public final class TrainOptions {
    /** Learning-rate schedules. */
    public enum Schedule { ONECYCLE, COSINE, STEP, CONSTANT }

    /** Optimizers. */
    public enum OptimizerKind { SGD, ADAM, ADAMW }

    String arch = "fashionnet";
    int epochs = 10;
    int batch = 128;
    int evalBatch = 256;
    double lr = 0.1;
    double momentum = 0.9;
    boolean nesterov = true;
    double weightDecay = 5e-4;
    double labelSmoothing = 0.1;
    double maxGradNorm = 0;
    double warmupFraction = 0.25;
    Schedule schedule = Schedule.ONECYCLE;
    OptimizerKind optimizer = OptimizerKind.SGD;
    boolean flip = true;
    int cropPadding = 0;
    long seed = 1;
    int patience = 0;
    int threads = Runtime.getRuntime().availableProcessors();
    int workers = 1;
    boolean resume;
    Path out;
    Progress.Options progress = Progress.Options.defaults();
    long maxStepsPerEpoch = 0;
    int stopAfterEpoch = 0;
    boolean cycleMomentum = true;
    DeviceSession device;

    public TrainOptions arch(String v) {
        arch = v;
        return this;
    }

    public TrainOptions epochs(int v) {
        if (v < 1) {
            throw new IllegalArgumentException("epochs must be >= 1; got " + v);
        }
        epochs = v;
        return this;
    }

    public TrainOptions batch(int v) {
        if (v < 2) {
            throw new IllegalArgumentException("batch must be >= 2 (batch norm needs two samples); got " + v);
        }
        batch = v;
        return this;
    }

    public TrainOptions lr(double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new IllegalArgumentException("learning rate must be a positive number; got " + v);
        }
        lr = v;
        return this;
    }

    public TrainOptions momentum(double v) {
        momentum = v;
        return this;
    }

    public TrainOptions nesterov(boolean v) {
        nesterov = v;
        return this;
    }

    public TrainOptions weightDecay(double v) {
        weightDecay = v;
        return this;
    }

    public TrainOptions labelSmoothing(double v) {
        labelSmoothing = v;
        return this;
    }

    /** Clip gradients to this global norm (0 = off). */
    public TrainOptions maxGradNorm(double v) {
        maxGradNorm = v;
        return this;
    }

    /** Fraction of the steps spent warming up (one-cycle's rising phase; linear warm-up for cosine). */
    public TrainOptions warmup(double fraction) {
        warmupFraction = fraction;
        return this;
    }

    public TrainOptions schedule(Schedule v) {
        schedule = v;
        return this;
    }

    public TrainOptions optimizer(OptimizerKind v) {
        optimizer = v;
        return this;
    }

    /** Random horizontal flips (on by default). */
    public TrainOptions flip(boolean v) {
        flip = v;
        return this;
    }

    /** Random crops with this zero padding (0 = off; 4 is the usual CIFAR choice). */
    public TrainOptions cropPadding(int v) {
        cropPadding = v;
        return this;
    }

    /**
     * With the one-cycle schedule and SGD, cycle the momentum between 0.95 and 0.85 against the learning rate, as
     * PyTorch's {@code OneCycleLR} does by default (on by default; off keeps {@link #momentum} fixed).
     */
    public TrainOptions cycleMomentum(boolean v) {
        cycleMomentum = v;
        return this;
    }

    public TrainOptions seed(long v) {
        seed = v;
        return this;
    }

    /** Stop when test accuracy has not improved for this many epochs (0 = never stop early). */
    public TrainOptions patience(int v) {
        patience = v;
        return this;
    }

    public TrainOptions threads(int v) {
        if (v < 1) {
            throw new IllegalArgumentException("threads must be >= 1; got " + v);
        }
        threads = v;
        return this;
    }

    /** Background threads decoding and augmenting batches. */
    public TrainOptions workers(int v) {
        workers = v;
        return this;
    }

    /** Continue from the run folder's last good checkpoint. */
    public TrainOptions resume(boolean v) {
        resume = v;
        return this;
    }

    /** The run folder: model.onnx, metrics, reports, checkpoints. */
    public TrainOptions out(Path v) {
        out = v;
        return this;
    }

    public TrainOptions progress(Progress.Options v) {
        progress = v;
        return this;
    }

    /** Stop each epoch after this many steps (0 = the whole training set); for quick runs and tests. */
    public TrainOptions maxStepsPerEpoch(long v) {
        maxStepsPerEpoch = v;
        return this;
    }

    /**
     * Train on this device (null: the CPU, the default). The trainer does not own it: the caller closes it after
     * {@link Trainer#fit}, and uses one session per fit (the session keeps the run's tensors attached). Not part
     * of the {@link #recipe()}: a run gives the same results on either.
     */
    public TrainOptions device(DeviceSession v) {
        device = v;
        return this;
    }

    /** The device session training runs on, or null for the CPU. */
    public DeviceSession device() {
        return device;
    }

    /** Ends this invocation after that epoch as if interrupted (0 = run to the end); for tests of resume. */
    TrainOptions stopAfterEpoch(int v) {
        stopAfterEpoch = v;
        return this;
    }

    boolean cyclesMomentum() {
        return cycleMomentum && schedule == Schedule.ONECYCLE && optimizer == OptimizerKind.SGD && momentum != 0;
    }

    public String arch() {
        return arch;
    }

    public int epochs() {
        return epochs;
    }

    public Path out() {
        return out;
    }

    /** The recipe as written into metrics.json, checkpoints and the exported model's provenance. */
    public Map<String, Object> recipe() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("arch", arch);
        r.put("epochs", epochs);
        r.put("batch", batch);
        r.put("optimizer", optimizer.name().toLowerCase(java.util.Locale.ROOT));
        r.put("lr", lr);
        r.put("momentum", momentum);
        r.put("nesterov", nesterov);
        r.put("weight_decay", weightDecay);
        r.put("label_smoothing", labelSmoothing);
        r.put("max_grad_norm", maxGradNorm);
        r.put("schedule", schedule.name().toLowerCase(java.util.Locale.ROOT));
        r.put("cycle_momentum", cyclesMomentum());
        r.put("warmup", warmupFraction);
        r.put("flip", flip);
        r.put("crop_padding", cropPadding);
        r.put("seed", seed);
        r.put("threads", threads);
        if (maxStepsPerEpoch > 0) {
            r.put("max_steps_per_epoch", maxStepsPerEpoch);
        }
        return r;
    }
}
