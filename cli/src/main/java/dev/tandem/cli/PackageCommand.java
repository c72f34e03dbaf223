package dev.tandem.cli;

import dev.tandem.cli.bundle.Bundler;
import dev.tandem.runtime.MemorySize;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tandem package}: a folder that classifies images with a model on a machine with no JDK installed (see
 * {@link Bundler} for its layout), for the operating system and architecture of the JDK that links it.
 */
@Command(
        name = "package",
        mixinStandardHelpOptions = true,
        description = {"Package a classifier for a machine with no Java installed: a folder with a",
            "jlinked Java runtime (only the modules Tandem's runtime needs), the",
            "tandem-runtime and protobuf-java jars, the model and a predict script",
            "(./predict IMAGE... prints one JSON line per image, as tandem predict).",
            "Prints its size and what it holds. It runs on the operating system and",
            "architecture of the JDK that links it (--jdk). See docs/deployment.md."})
public final class PackageCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX image classifier.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "The bundle folder to create: new or empty (or an earlier bundle, with --force).")
    Path out;

    @Option(names = "--force", description = "Replace an earlier bundle in --out (never a folder holding anything else).")
    boolean force;

    @Option(names = "--image-io", description = "Add java.desktop so that JPEG, BMP and GIF decode too (about 20 MB "
            + "more); without it the bundle decodes PNG.")
    boolean imageIo;

    @Option(names = "--jdk", paramLabel = "DIR", description = "The JDK 25+ whose jlink links the runtime (default: the "
            + "one running tandem).")
    Path jdk;

    @Option(names = "--keep-native-symbols", description = "Keep the symbol tables of the runtime's native libraries "
            + "(by default objcopy strips them when it is on the PATH: about 5 MB).")
    boolean keepNativeSymbols;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path javaHome = jdk != null ? jdk : Path.of(System.getProperty("java.home"));
        Bundler.Result r = Bundler.build(new Bundler.Options(model, this.out, force, imageIo, javaHome,
                !keepNativeSymbols, JvmFacts.tandemVersion()), line -> {
                    out.println(line);
                    out.flush();
                });
        out.println("Bundle written to " + r.dir() + ": " + MemorySize.describe(r.bytes()));
        out.println("  jre/        " + pad(r.runtimeBytes()) + "Java " + r.javaVersion() + " for " + r.platform()
                + ": " + String.join(", ", r.modules()) + "; linked in " + String.format(java.util.Locale.ROOT, "%.1f",
                r.jlinkMillis() / 1000.0) + " s; native symbols " + (r.strippedBytes() >= 0
                ? "stripped (" + MemorySize.human(r.strippedBytes()) + " saved)" : r.stripNote()));
        for (Map.Entry<String, Long> j : r.jars().entrySet()) {
            out.println("  lib/        " + pad(j.getValue()) + j.getKey());
        }
        out.println("  model.onnx  " + pad(r.modelBytes()) + "from " + model);
        out.println("  predict     ./predict IMAGE... prints one JSON line per image ("
                + (imageIo ? "PNG, JPEG, BMP, GIF" : "PNG; --image-io adds JPEG, BMP, GIF") + ")");
        out.println("Copy the folder to a " + r.platform() + " machine and run " + r.dir().getFileName()
                + "/predict there: no Java needed.");
        out.flush();
        return 0;
    }

    private static String pad(long bytes) {
        return String.format(java.util.Locale.ROOT, "%-22s", bytes + " (" + MemorySize.human(bytes) + ")");
    }
}
