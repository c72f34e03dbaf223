package dev.tandem.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code tandem quickstart}: the end-to-end demo. Today it says what is coming and runs a short
 * kernel demo; the training issue turns it into train, export, classify.
 */
@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        description = "Show Tandem end to end (today: a short kernel demo; train/export/classify arrives with the training issue).")
public final class QuickstartCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--seconds", description = "How long to time the kernel (default: ${DEFAULT-VALUE}).")
    double seconds = 3;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("The end-to-end quickstart (train FashionNet on Fashion-MNIST, export ONNX, classify)");
        out.println("arrives with the training issue. For now, a short kernel demo:");
        if (threads < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        if (!(seconds >= 0)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--seconds must be >= 0");
        }
        boolean ok = KernelDemo.run(out, threads, seconds);
        out.flush();
        return ok ? 0 : 1;
    }
}
