package dev.tandem.cli.bundle;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.classify.Classifier;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Builds a folder that classifies images on a machine with no JDK: a jlinked Java runtime with only the modules
 * the runtime jar needs, the tandem-runtime and protobuf-java jars, the model, and a {@code predict} script that
 * runs {@link dev.tandem.runtime.classify.PredictMain}.
 *
 * <pre>
 * DIR/predict              ./predict IMAGE... : one JSON line per image (as tandem predict)
 * DIR/model.onnx           the model (and its external data files, if it has any)
 * DIR/lib/                 tandem-runtime-*.jar, protobuf-java-*.jar
 * DIR/jre/                 the Java runtime: java.base, java.logging, jdk.unsupported, jdk.incubator.vector
 *                          (+ java.desktop with imageIo)
 * DIR/tandem-bundle.txt    what the bundle holds; marks the folder as a bundle --force may replace
 * </pre>
 *
 * <p>The bundle is built in a hidden folder next to {@code DIR} and moved into place when complete: a failure
 * leaves no half-built bundle, and an earlier bundle it replaces stays until the new one is whole.
 */
public final class Bundler {
    /** The file that marks a bundle folder. */
    public static final String MARKER = "tandem-bundle.txt";
    /**
     * The modules the predict path needs (jdeps on the runtime and protobuf jars): java.logging and jdk.unsupported
     * are protobuf-java's (its descriptors log through java.util.logging; it reads memory through sun.misc.Unsafe
     * when there is one). java.desktop (ImageIO, 20 MB) is only needed for JPEG, BMP and GIF: the runtime decodes
     * PNG itself.
     */
    public static final List<String> MODULES = List.of("java.base", "java.logging", "jdk.unsupported",
            "jdk.incubator.vector");

    /**
     * What to bundle.
     *
     * @param model        the ONNX image classifier
     * @param out          the folder to create (absent or empty; or an earlier bundle, with {@code force})
     * @param force        replace an earlier bundle in {@code out}
     * @param imageIo      add java.desktop, so that JPEG, BMP and GIF decode too (about 20 MB more)
     * @param jdk          the JDK whose jlink links the runtime (its version and platform are the bundle's)
     * @param stripNative  strip native symbol tables with objcopy when it is on the PATH
     * @param version      the Tandem version, written into the marker file
     */
    public record Options(Path model, Path out, boolean force, boolean imageIo, Path jdk, boolean stripNative,
                          String version) {
    }

    /**
     * What was built.
     *
     * @param dir           the bundle folder
     * @param bytes         the size of every file in it
     * @param runtimeBytes  the size of {@code jre/}
     * @param modules       the modules linked
     * @param javaVersion   the runtime's Java version
     * @param platform      the operating system and architecture it runs on
     * @param jars          jar file name → bytes
     * @param modelBytes    the model's bytes (with external data)
     * @param strippedBytes bytes objcopy saved, or -1 when symbols were kept
     * @param stripNote     why symbols were kept, or null
     * @param jlinkMillis   how long jlink ran
     */
    public record Result(Path dir, long bytes, long runtimeBytes, List<String> modules, String javaVersion,
                         String platform, Map<String, Long> jars, long modelBytes, long strippedBytes,
                         String stripNote, long jlinkMillis) {
    }

    private Bundler() {
    }

    /**
     * Builds the bundle; {@code log} hears of the slow steps as they start.
     *
     * @throws BundleException           naming the fault and the fix (model, folder, jars)
     * @throws JlinkUnavailableException when the JDK cannot link a runtime
     */
    public static Result build(Options o, Consumer<String> log) {
        Path model = o.model().toAbsolutePath().normalize();
        Path out = o.out().toAbsolutePath().normalize();
        checkModel(model);
        BundleFolder.check(out, o.force());
        Jlink jlink = Jlink.of(o.jdk());
        Path runtimeJar = RuntimeJars.location(Model.class, "tandem-runtime jar");
        Path protobufJar = RuntimeJars.location(com.google.protobuf.Message.class, "protobuf-java jar");
        if (!Files.isRegularFile(protobufJar)) {
            throw new BundleException("protobuf-java was loaded from '" + protobufJar + "', not a jar; run tandem "
                    + "from its build (./tandem)");
        }
        Path parent = out.getParent();
        for (Path p = parent; p != null; p = p.getParent()) {
            if (Files.exists(p) && !Files.isDirectory(p)) {
                throw new BundleException("Cannot create the bundle folder '" + out + "': '" + p + "' is a file; give "
                        + "a --out in a folder");
            }
        }
        Path staging;
        try {
            Files.createDirectories(parent);
            staging = Files.createTempDirectory(parent, "." + out.getFileName() + ".tmp-");
            try {
                // A temporary folder is private (rwx------); the bundle is for everyone who may run it.
                Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException e) {
                // Not a POSIX file system.
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw new BundleException("Cannot create the bundle folder '" + out + "': " + BundleFolder.reason(e)
                    + "; give a --out where you can write", e);
        }
        try {
            List<String> modules = new ArrayList<>(MODULES);
            if (o.imageIo()) {
                modules.add("java.desktop");
            }
            log.accept("Linking a Java " + jlink.version() + " runtime (" + String.join(", ", modules) + ") with "
                    + jlink.jdk().resolve("bin/jlink") + " ...");
            long t0 = System.nanoTime();
            Path jre = staging.resolve("jre");
            jlink.link(modules, jre);
            long jlinkMillis = (System.nanoTime() - t0) / 1_000_000;
            long stripped = -1;
            String stripNote = null;
            if (!o.stripNative()) {
                stripNote = "kept (--keep-native-symbols)";
            } else {
                Optional<Path> objcopy = NativeSymbols.objcopy();
                if (objcopy.isEmpty()) {
                    stripNote = "kept: objcopy is not on the PATH (install binutils to save about 5 MB)";
                } else {
                    stripped = NativeSymbols.strip(objcopy.get(), jre);
                }
            }
            Path lib = Files.createDirectories(staging.resolve("lib"));
            Map<String, Long> jars = new LinkedHashMap<>();
            String runtimeName = RuntimeJars.copy(runtimeJar, lib, "tandem-runtime.jar");
            String protobufName = RuntimeJars.copy(protobufJar, lib, "protobuf-java.jar");
            jars.put(runtimeName, Files.size(lib.resolve(runtimeName)));
            jars.put(protobufName, Files.size(lib.resolve(protobufName)));
            long modelBytes = copyModel(model, staging);
            writeScript(staging.resolve("predict"), runtimeName, protobufName, o.imageIo());
            Files.writeString(staging.resolve(MARKER), marker(o, jlink, modules, jars, stripped >= 0),
                    StandardCharsets.UTF_8);
            BundleFolder.replace(out, staging);
            return new Result(out, BundleFolder.size(out), BundleFolder.size(out.resolve("jre")), List.copyOf(modules), jlink.version(),
                    jlink.platform(), jars, modelBytes, stripped, stripNote, jlinkMillis);
        } catch (IOException e) {
            throw new BundleException("Cannot write the bundle in '" + parent + "': " + BundleFolder.reason(e), e);
        } finally {
            BundleFolder.deleteQuietly(staging);
        }
    }

    private static void checkModel(Path model) {
        if (!Files.isRegularFile(model)) {
            throw new BundleException("Model file not found: " + model);
        }
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withThreads(1))) {
            c.imageSpec(); // loads: the bundle's predict can run it
        } catch (ModelException | UncheckedIOException | IllegalArgumentException e) {
            throw new BundleException("'" + model + "' cannot be packaged: the bundle classifies images, and this "
                    + "model is not a classifier Tandem can run: " + e.getMessage(), e);
        }
    }

    private static long copyModel(Path model, Path staging) throws IOException {
        Path dest = staging.resolve("model.onnx");
        Files.copy(model, dest);
        long bytes = Files.size(dest);
        for (String rel : ModelFiles.externalData(model)) {
            Path src = model.getParent().resolve(rel).normalize();
            Path to = staging.resolve(rel).normalize();
            if (!src.startsWith(model.getParent()) || !to.startsWith(staging)) {
                throw new BundleException("The model's external data '" + rel + "' lies outside its folder");
            }
            Files.createDirectories(to.getParent());
            Files.copy(src, to);
            bytes += Files.size(to);
        }
        return bytes;
    }

    private static void writeScript(Path file, String runtimeJar, String protobufJar, boolean imageIo)
            throws IOException {
        String template;
        try (InputStream in = Bundler.class.getResourceAsStream("predict.sh")) {
            if (in == null) {
                throw new BundleException("The predict script template is missing from the CLI's jar; rebuild Tandem");
            }
            template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String script = template.replace("@RUNTIME_JAR@", runtimeJar).replace("@PROTOBUF_JAR@", protobufJar)
                .replace("@IMAGES@", imageIo ? "Images: PNG, JPEG, BMP, GIF."
                        : "Images: PNG (tandem package --image-io adds JPEG, BMP, GIF).");
        Files.writeString(file, script, StandardCharsets.UTF_8);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the script is run with sh.
        }
    }

    private static String marker(Options o, Jlink jlink, List<String> modules, Map<String, Long> jars,
                                 boolean stripped) {
        return "Tandem bundle, made by tandem package " + o.version() + "\n"
                + "Run:     ./predict [--top K] [--threads N] [--max-memory BYTES] IMAGE...\n"
                + "Model:   model.onnx (from " + o.model().toAbsolutePath().normalize() + ")\n"
                + "Jars:    " + String.join(", ", jars.keySet().stream().map(j -> "lib/" + j).toList()) + "\n"
                + "Java:    jre/, Java " + jlink.version() + " for " + jlink.platform() + ", modules "
                + String.join(", ", modules) + (stripped ? ", native symbols stripped" : "") + "\n"
                + "Images:  " + (o.imageIo() ? "PNG, JPEG, BMP, GIF" : "PNG") + "\n";
    }

}
