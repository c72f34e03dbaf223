package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.train.ModelEvaluation;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.ImageSpec;
import dev.tandem.train.data.DataSpec;
import dev.tandem.train.data.ImageFolder;
import dev.tandem.train.data.Splits;
import dev.tandem.train.report.Charts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem eval}: scores a model on a data set's test split (a folder's validation split). */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = "Evaluate an ONNX classifier on labelled data: JSON with accuracy, per-class precision/recall "
                + "and the confusion matrix.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX classifier.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "SPEC",
            description = "fashion-mnist:DIR, mnist:DIR, cifar10:DIR or folder:DIR")
    String data;

    @Option(names = "--confusion", paramLabel = "PNG", description = "Also draw the confusion matrix here.")
    Path confusion;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--val-fraction", defaultValue = "0.2",
            description = "folder without train/ and val/: the share held out, as when training (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--seed", defaultValue = "1", description = "folder split seed, as when training.")
    long seed;

    @Option(names = "--strict", description = "folder: fail on an unreadable image instead of skipping it.")
    boolean strict;

    @Override
    public Integer call() throws Exception {
        DataSpec ds = DataSpec.parse(data);
        ImageFolder.Options fo;
        try (Model m = Model.load(model)) {
            ImageSpec sp = ImageSpec.of(m);
            fo = ImageFolder.Options.of(sp.height(), sp.width(), sp.channels()).withValFraction(valFraction)
                    .withSeed(seed).withStrict(strict);
        }
        Splits s = ds.load(fo);
        ModelEvaluation.Report r = ModelEvaluation.evaluate(model, s.test(), threads);
        if (confusion != null) {
            Charts.confusion(r.confusion(), r.labels(), confusion);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(new ObjectMapper().writeValueAsString(r.toMap()));
        out.flush();
        return 0;
    }
}
