package dev.tandem.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("The end-to-end quickstart (train FashionNet on Fashion-MNIST, export ONNX, classify)");
        out.println("arrives with the training issue. For now, a short kernel demo:");
        out.flush();
        runKernelDemo(System.out);
        System.out.flush();
        return 0;
    }

    /** Placeholder for the kernel demo; replaced once the runtime's kernels are in. */
    void runKernelDemo(PrintStream out) {
        out.println("kernel demo: not wired yet");
    }
}
