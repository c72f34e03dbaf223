package dev.tandem.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The {@code --device} choice. The CUDA backend is not built yet (issue #5): auto means the CPU. */
final class Devices {
    private Devices() {
    }

    static void requireCpu(CommandSpec spec, String device, PrintWriter err) {
        switch (device) {
            case "cpu" -> { }
            case "auto" -> err.println("Device: cpu (" + Runtime.getRuntime().availableProcessors()
                    + " cores; this build has no GPU backend)");
            case "cuda" -> throw new ParameterException(spec.commandLine(), "--device cuda: this build of Tandem has "
                    + "no CUDA backend yet; use --device cpu (or auto)");
            default -> throw new ParameterException(spec.commandLine(), "--device must be auto, cpu or cuda; got '"
                    + device + "'");
        }
    }
}
