package dev.tandem.cli;

import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import dev.tandem.train.ModelEvaluation;
import dev.tandem.train.TrainOptions;
import dev.tandem.train.Trainer;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.Splits;
import dev.tandem.train.report.Progress;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tandem quickstart}: the whole path in a couple of minutes. Trains FashionNet on Fashion-MNIST (Debian's
 * {@code dataset-fashion-mnist} when installed, else the subset bundled in the jar), exports it to ONNX, evaluates
 * the exported model through the runtime, and classifies a few test images written as PNG files.
 */
@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        description = "Train FashionNet on Fashion-MNIST, export ONNX, evaluate it and classify a few images.")
public final class QuickstartCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "tandem-quickstart", paramLabel = "DIR",
            description = "Where to write the run (default: ./${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--epochs", defaultValue = "2", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--limit", defaultValue = "15000",
            description = "Training images per epoch at most (default: ${DEFAULT-VALUE}; 0: all).")
    int limit;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        if (threads < 1) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        if (epochs < 1 || limit < 0) {
            throw new ParameterException(spec.commandLine(), "--epochs must be >= 1 and --limit >= 0");
        }
        boolean full = Files.isDirectory(Path.of(Quickstart.DEBIAN_FOLDER));
        Splits data = Quickstart.data();
        w.printf("Tandem quickstart: FashionNet on Fashion-MNIST (%s: %d training, %d test images)%n",
                full ? Quickstart.DEBIAN_FOLDER : "the subset bundled with Tandem", data.train().size(),
                data.test().size());
        w.flush();
        int batch = 128;
        long steps = limit == 0 ? 0 : (limit + batch - 1) / batch;
        TrainOptions o = new TrainOptions().out(out).epochs(epochs).batch(batch).threads(threads)
                .maxStepsPerEpoch(steps).progress(Progress.Options.defaults());
        Trainer.Result r = new Trainer(o).fit(data, full ? "fashion-mnist:" + Quickstart.DEBIAN_FOLDER
                : "fashion-mnist subset (bundled)");
        w.printf("%nTrained %d epochs at %.0f images/s; best test accuracy %.2f%% (epoch %d).%n", r.epochs(),
                r.trainImagesPerSecond(), 100 * r.bestTestAccuracy(), r.bestEpoch());
        ModelEvaluation.Report ev = ModelEvaluation.evaluate(r.model(), data.test(), threads);
        w.printf("The exported model, run by Tandem's runtime: %.2f%% on %d test images.%n", 100 * ev.accuracy(),
                ev.samples());
        Path samples = out.resolve("samples");
        Files.createDirectories(samples);
        List<Path> files = writeSamples(data.test(), samples, 6);
        w.println("Classifying a few test images (" + samples + "):");
        try (Classifier c = Classifier.load(r.model(), Classifier.Options.defaults().withTopK(1)
                .withThreads(threads))) {
            List<List<Prediction>> p = c.classifyFiles(files);
            for (int i = 0; i < files.size(); i++) {
                Prediction top = p.get(i).getFirst();
                String truth = data.test().classes().get(data.test().label(i));
                w.printf("  %-14s %-12s %5.1f%%   (true: %s)%n", files.get(i).getFileName(), top.label(),
                        100 * top.probability(), truth);
            }
        }
        w.println();
        w.println("Written to " + out.toAbsolutePath() + ":");
        w.println("  model.onnx        the classifier, with labels and preprocessing inside");
        w.println("  metrics.json/csv  per-epoch loss and accuracy; curves.png, confusion.png");
        w.println("  checkpoints/      last and best checkpoints (tandem train --resume continues)");
        w.println("Next: ./tandem predict --model " + r.model() + " " + files.getFirst());
        w.flush();
        return 0;
    }

    /** The first {@code n} test images as grey PNG files named after their index. */
    private static List<Path> writeSamples(Dataset test, Path dir, int n) throws java.io.IOException {
        List<Path> files = new ArrayList<>();
        int h = test.height(), wd = test.width();
        float[] x = new float[test.sampleSize()];
        for (int i = 0; i < Math.min(n, test.size()); i++) {
            test.read(i, x, 0);
            BufferedImage img = new BufferedImage(wd, h, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < wd; xx++) {
                    int v = Math.round(x[y * wd + xx] * 255f);
                    img.getRaster().setSample(xx, y, 0, v);
                }
            }
            Path f = dir.resolve(String.format("test-%04d.png", i));
            ImageIO.write(img, "png", f.toFile());
            files.add(f);
        }
        return files;
    }
}
