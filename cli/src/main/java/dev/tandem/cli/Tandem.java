package dev.tandem.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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
            TrainCommand.class,
            EvalCommand.class,
            QuantizeCommand.class,
            PackageCommand.class,
            InfoCommand.class,
            InferCommand.class,
            PredictCommand.class,
            BenchCommand.class,
            InspectCommand.class,
            ConformanceCommand.class,
            ServeCommand.class,
            KeygenCommand.class,
            SignCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class Tandem implements Runnable {

    @Spec
    CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, description = "Print the stack trace of an error (before the subcommand: tandem -v predict ...).")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: try 'tandem quickstart' or 'tandem --help'");
    }

    /** A fresh command line for {@code tandem}; tests use it with their own writers instead of {@link #main}. */
    public static CommandLine commandLine() {
        Tandem root = new Tandem();
        CommandLine cl = new CommandLine(root);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            if (root.verbose) {
                ex.printStackTrace(err);
            }
            err.println("error: " + CliErrors.message(ex));
            err.flush();
            return CliErrors.isUserError(ex) ? 2 : 1;
        });
        // Bad arguments: one line and where to look, not the whole usage text.
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + CliErrors.message(ex));
            err.println("usage: tandem " + (ex.getCommandLine() == cl ? "" : ex.getCommandLine().getCommandName() + " ")
                    + "--help");
            err.flush();
            return 2;
        });
        return cl;
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
