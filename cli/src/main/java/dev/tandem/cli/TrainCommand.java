package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.train.TrainOptions;
import dev.tandem.train.Trainer;
import dev.tandem.train.data.DataSpec;
import dev.tandem.train.data.Splits;
import dev.tandem.train.report.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem train}: trains a zoo model on a data set and writes the run folder (see {@link Trainer}). */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {"Train an image classifier and export it to ONNX.",
            "Writes OUT/model.onnx, metrics.json, metrics.csv, curves.png, confusion.png and checkpoints/.",
            "Defaults are FashionNet's reference recipe (SGD Nesterov, one-cycle LR 0.1, label smoothing 0.1)."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "SPEC",
            description = "fashion-mnist:DIR, mnist:DIR, cifar10:DIR or folder:DIR")
    String data;

    @Option(names = "--arch", defaultValue = "fashionnet",
            description = "fashionnet, resnet8, resnet20, resnet18 or mobilenet (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--epochs", defaultValue = "10", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "128", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "0.1", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd, adam or adamw (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--schedule", defaultValue = "onecycle",
            description = "onecycle, cosine, step or constant (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", defaultValue = "5e-4", description = "Weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--label-smoothing", defaultValue = "0.1", description = "Default: ${DEFAULT-VALUE}.")
    double labelSmoothing;

    @Option(names = "--clip", defaultValue = "0", description = "Clip gradients to this global norm (0: off).")
    double clip;

    @Option(names = "--crop-padding", defaultValue = "-1",
            description = "Random crops with this padding (default: 4 for CIFAR-10, off otherwise).")
    int cropPadding;

    @Option(names = "--no-cycle-momentum",
            description = "With onecycle and SGD, keep the momentum fixed instead of cycling it 0.95-0.85 (PyTorch's default).")
    boolean noCycleMomentum;

    @Option(names = "--no-flip", description = "No random horizontal flips.")
    boolean noFlip;

    @Option(names = "--patience", defaultValue = "0", description = "Stop after N epochs without a better test accuracy.")
    int patience;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", paramLabel = "P", description = "GPU arithmetic: tf32 (the default: float32 data, "
            + "tensor cores), float32, or bf16 (mixed precision: convolutions and matrix products on bfloat16 copies, "
            + "weights and everything else float32). The CPU always trains in float32.")
    String precision;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of initialisation, shuffling, augmentation.")
    long seed;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--workers", defaultValue = "-1", description = "Data loading threads (default: 1 on the CPU, "
            + "which computes; up to 8 when a GPU trains, so that the loader keeps up).")
    int workers;

    @Option(names = "--resume", description = "Continue OUT's run from its last good checkpoint.")
    boolean resume;

    @Option(names = "--image-size", defaultValue = "32x32", paramLabel = "HxW",
            description = "folder: images are resized to this (default: ${DEFAULT-VALUE}).")
    String imageSize;

    @Option(names = "--channels", defaultValue = "3", description = "folder: 3 (RGB) or 1 (grey) (default: ${DEFAULT-VALUE}).")
    int channels;

    @Option(names = "--val-fraction", defaultValue = "0.2",
            description = "folder without train/ and val/: the share held out for validation (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--strict", description = "folder: fail on an unreadable image instead of skipping it.")
    boolean strict;

    @Option(names = "--steps-per-epoch", defaultValue = "0",
            description = "Train at most this many batches per epoch (0: the whole set; for quick trials).")
    long stepsPerEpoch;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The run folder.")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (precision != null && !java.util.Set.of("tf32", "float32", "bf16").contains(precision)) {
            throw new ParameterException(spec.commandLine(), "--precision: '" + precision
                    + "' is not one of tf32, float32, bf16");
        }
        Supplier<BackendEnvironment> environment = precision == null ? BackendEnvironment::system
                : () -> BackendEnvironment.system().withProperty("tandem.cuda.precision", precision);
        try (Devices.Choice dev = Devices.forTraining(spec, device, err,
                () -> Backends.installed(Devices.class.getClassLoader()), environment)) {
            if (precision != null && dev.session() == null && !precision.equals("float32")) {
                err.println("--precision " + precision + " applies to a GPU; on the CPU training runs in float32");
            }
            return train(err, dev);
        }
    }

    private Integer train(PrintWriter err, Devices.Choice dev) throws Exception {
        DataSpec ds = DataSpec.parse(data);
        TrainOptions o;
        try {
            o = new TrainOptions().arch(arch).epochs(epochs).batch(batch).lr(lr).momentum(momentum)
                    .weightDecay(weightDecay).labelSmoothing(labelSmoothing).maxGradNorm(clip).seed(seed)
                    .threads(threads).workers(workers >= 0 ? workers : dev.session() != null ? Math.max(1,
                            Math.min(8, Runtime.getRuntime().availableProcessors() / 2)) : 1).resume(resume).out(out).patience(patience)
                    .maxStepsPerEpoch(stepsPerEpoch)
                    .flip(!noFlip).cycleMomentum(!noCycleMomentum).cropPadding(cropPadding >= 0 ? cropPadding
                            : ds.kind() == DataSpec.Kind.CIFAR10 ? 4 : 0)
                    .optimizer(TrainOptions.OptimizerKind.valueOf(optimizer.toUpperCase(Locale.ROOT)))
                    .schedule(TrainOptions.Schedule.valueOf(schedule.toUpperCase(Locale.ROOT)))
                    .progress(quiet ? Progress.Options.quiet() : Progress.Options.defaults())
                    .device(dev.session());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Splits splits = ds.load(FolderOptions.parse(spec, imageSize, channels, valFraction, seed, strict, threads));
        if (!splits.skipped().isEmpty()) {
            err.println("Skipped " + splits.skipped().size() + " unreadable images (first: "
                    + splits.skipped().getFirst() + ")");
        }
        Trainer.Result r = new Trainer(o).fit(splits, ds.toString());
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("model", r.model().toString());
        summary.put("test_accuracy", r.bestTestAccuracy());
        summary.put("best_epoch", r.bestEpoch());
        summary.put("epochs", r.epochs());
        summary.put("train_images_per_second", r.trainImagesPerSecond());
        summary.put("seconds", r.seconds());
        summary.put("stopped_early", r.stoppedEarly());
        summary.put("device", dev.session() != null ? dev.session().summary() : "cpu");
        PrintWriter outW = spec.commandLine().getOut();
        outW.println(new ObjectMapper().writeValueAsString(summary));
        outW.flush();
        return 0;
    }
}
