package dev.tandem.cli;

import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import dev.tandem.runtime.classify.PredictionJson;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem predict}: classifies images, one JSON object per image. */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = {"Classify images with an image classifier model; prints one JSON object per image:",
            "{\"file\": ..., \"top\": [{\"label\", \"index\", \"probability\"}, ...]}.",
            "Preprocessing comes from the model's metadata (docs/model-metadata.md)."})
public final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX classifier.")
    Path model;

    @Option(names = "--top", paramLabel = "K", description = "Classes per image (default: ${DEFAULT-VALUE}).")
    int top = 5;

    @Option(names = "--labels", paramLabel = "FILE", description = "Labels, one per line or a JSON array (default: the model's).")
    Path labels;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads;

    @Option(names = "--max-memory", paramLabel = "BYTES", converter = MemorySizeConverter.class,
            description = MemorySizeConverter.DESCRIPTION)
    Long maxMemory;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files (PNG, JPEG, BMP, GIF).")
    List<Path> images;

    @Override
    public Integer call() {
        if (top < 1) {
            throw new ParameterException(spec.commandLine(), "--top must be >= 1");
        }
        if (threads < 0) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        Classifier.Options o = Classifier.Options.defaults().withTopK(top).withThreads(threads).withLabelsFile(labels)
                .withMaxMemory(maxMemory == null ? 0 : maxMemory);
        try (Classifier c = Classifier.load(model, o)) {
            List<List<Prediction>> results = c.classifyFiles(images);
            for (int i = 0; i < images.size(); i++) {
                // The bundle's format, written without Jackson: loading it cost ResNet-18's predict 3 MB of
                // resident memory (docs/benchmarks.md).
                out.println(PredictionJson.line(images.get(i).toString(), results.get(i)));
            }
        }
        out.flush();
        return 0;
    }
}
