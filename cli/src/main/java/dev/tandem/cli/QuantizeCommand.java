package dev.tandem.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.ImageSpec;
import dev.tandem.train.data.DataSpec;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.ImageFolder;
import dev.tandem.train.data.Splits;
import dev.tandem.train.quant.Quantizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tandem quantize}: post-training int8 quantization of a float32 ONNX classifier into a standard QDQ model
 * (per-channel int8 weights, per-tensor uint8 activations), calibrated on images of a data set's training split.
 */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = "Quantize an ONNX classifier to int8 (QDQ, runs in Tandem and ONNX Runtime), calibrating "
                + "activation ranges on images; prints what was quantized, what stays float and why, and the sizes.")
public final class QuantizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The float32 ONNX classifier.")
    Path model;

    @Option(names = "--calib", required = true, paramLabel = "SPEC",
            description = "Calibration images: fashion-mnist:DIR, mnist:DIR, cifar10:DIR or folder:DIR (training split).")
    String calib;

    @Option(names = "--samples", defaultValue = "256", description = "Calibration images used (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--method", defaultValue = "minmax",
            description = "Activation ranges: minmax, percentile (99.99%% of |x|) or entropy (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--out", required = true, paramLabel = "M.int8.onnx", description = "Where to write the QDQ model.")
    Path out;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        Quantizer.Method m = Quantizer.Method.parse(method);
        DataSpec ds = DataSpec.parse(calib);
        ImageFolder.Options fo;
        try (Model fm = Model.load(model)) {
            ImageSpec sp = ImageSpec.of(fm);
            fo = ImageFolder.Options.of(sp.height(), sp.width(), sp.channels());
        }
        Splits s = ds.load(fo);
        Dataset d = s.train().size() > 0 ? s.train() : s.test();
        Quantizer.Report r = Quantizer.quantize(model, d, Quantizer.Options.defaults().withSamples(samples)
                .withMethod(m).withThreads(threads), out);
        PrintWriter w = spec.commandLine().getOut();
        w.print(r);
        w.println("Wrote " + out);
        w.flush();
        return 0;
    }
}
