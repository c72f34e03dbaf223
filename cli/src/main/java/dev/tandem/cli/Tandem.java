package dev.tandem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code tandem} command. Each subcommand is its own class; this one only holds them together,
 * answers {@code --help} and {@code --version}, and turns a missing subcommand into a usage error.
 */
@Command(
        name = "tandem",
        mixinStandardHelpOptions = true,
        versionProvider = Tandem.Version.class,
        description = "Tandem: train image classifiers in Java, export them to ONNX, and run them on any JVM.",
        subcommands = {
            QuickstartCommand.class,
            InfoCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class Tandem implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: try 'tandem quickstart' or 'tandem --help'");
    }

    /** A fresh command line for {@code tandem}; tests use it with their own writers instead of {@link #main}. */
    public static CommandLine commandLine() {
        return new CommandLine(new Tandem());
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** {@code tandem --version}: the Tandem version, the Java running it and the vector width in use. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "tandem " + JvmFacts.tandemVersion(),
                "Java " + JvmFacts.javaVersion() + " (" + JvmFacts.javaVendor() + ")",
                "vector width: " + JvmFacts.vectorWidthText(),
            };
        }
    }
}
