package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.cli.bundle.Bundler;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tandem package: one real bundle (jlink takes seconds, so the tests share it) whose predict script runs with no Java
 * on the PATH and answers as the in-process classifier does; and every way packaging is refused.
 */
class PackageCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path bundle;
    static List<Path> images = new ArrayList<>();
    static TrainCommandsTest.Result made;
    /** A PATH folder holding only dirname and readlink. */
    static Path tools;

    private record Proc(int code, String out, String err) {
    }

    @BeforeAll
    static void packageOnce() throws Exception {
        model = FashionNetModel.write(dir.resolve("fashion.onnx"));
        Random r = new Random(3);
        for (int i = 0; i < 3; i++) {
            // Grey like Fashion-MNIST, and one in colour (the model converts it to grey).
            BufferedImage img = new BufferedImage(28 + i, 28, i == 2 ? BufferedImage.TYPE_INT_RGB
                    : BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    img.setRGB(x, y, r.nextInt(0x1000000));
                }
            }
            Path f = dir.resolve("item " + i + ".png");
            ImageIO.write(img, "png", f.toFile());
            images.add(f);
        }
        tools = Files.createDirectories(dir.resolve("tools"));
        for (String tool : new String[] {"dirname", "readlink"}) {
            Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool)).filter(Files::isExecutable)
                    .findFirst().orElseThrow();
            Files.createSymbolicLink(tools.resolve(tool), real);
        }
        // --force replaces an earlier bundle: here a stale one, whose leftovers must be gone afterwards.
        bundle = dir.resolve("out/fashion-bundle");
        Files.createDirectories(bundle);
        Files.writeString(bundle.resolve(Bundler.MARKER), "an earlier bundle");
        Files.writeString(bundle.resolve("stale.txt"), "left from before");
        made = TrainCommandsTest.run("package", "--model", model.toString(), "--out", bundle.toString(), "--force");
        assertThat(made.exitCode()).as(made.err()).isZero();
    }

    private static Proc runBundle(String... args) throws Exception {
        return runBundleWith(null, args);
    }

    /** Runs the bundle's predict with {@code javaOpts} (when not null) in TANDEM_JAVA_OPTS. */
    private static Proc runBundleWith(String javaOpts, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bundle.resolve("predict").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        // A machine without Java: no JAVA_HOME, and a PATH with only the tools the script uses (this machine's
        // /usr/bin has a java, an older one the runtime jar would not even load on).
        pb.environment().clear();
        pb.environment().put("PATH", tools.toString());
        if (javaOpts != null) {
            pb.environment().put("TANDEM_JAVA_OPTS", javaOpts);
        }
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = pb.redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Proc(p.exitValue(), out, Files.readString(err));
    }

    @Test
    void theBundleHoldsARuntimeTheJarsTheModelAndTheScriptAndSaysItsSize() throws Exception {
        assertThat(bundle.resolve("stale.txt")).doesNotExist();
        assertThat(Files.isExecutable(bundle.resolve("predict"))).isTrue();
        assertThat(Files.isExecutable(bundle.resolve("jre/bin/java"))).isTrue();
        assertThat(Files.mismatch(model, bundle.resolve("model.onnx"))).isEqualTo(-1);
        Properties release = new Properties();
        try (var in = Files.newInputStream(bundle.resolve("jre/release"))) {
            release.load(in);
        }
        // Only the modules the predict path needs: no java.desktop (20 MB), no compiler, no jlink.
        assertThat(release.getProperty("MODULES").replace("\"", "").split(" ")).containsExactlyInAnyOrder(
                "java.base", "java.logging", "jdk.unsupported", "jdk.incubator.vector");
        try (Stream<Path> jars = Files.list(bundle.resolve("lib"))) {
            assertThat(jars.map(p -> p.getFileName().toString()).sorted().toList())
                    .satisfiesExactly(p -> assertThat(p).startsWith("protobuf-java-"),
                            t -> assertThat(t).startsWith("tandem-runtime"));
        }
        long size;
        try (Stream<Path> all = Files.walk(bundle)) {
            size = all.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        assertThat(made.out()).contains("Bundle written to " + bundle + ": " + size + " bytes (",
                "jre/", "java.base, java.logging, jdk.unsupported, jdk.incubator.vector", "model.onnx",
                "./predict IMAGE...");
        // FashionNet's bundle: a 40 MB runtime (libjvm.so alone is 25 MB stripped), jars and a 1.9 MB model.
        assertThat(size).isLessThan(52L << 20);
        assertThat(Files.readString(bundle.resolve(Bundler.MARKER))).contains("Tandem bundle", "./predict");
    }

    @Test
    void theRuntimeLeavesOutFilesAndTranslationsPredictNeverReadsAndStillRunsInAnotherLanguage() throws Exception {
        Path jre = bundle.resolve("jre");
        for (String f : new String[] {"bin/keytool", "lib/security/cacerts", "lib/security/public_suffix_list.dat",
                                      "lib/classlist", "lib/jrt-fs.jar"}) {
            assertThat(jre.resolve(f)).as(f).doesNotExist();
        }
        // What java.base itself reads stays: time zones, security configuration, the VM.
        for (String f : new String[] {"lib/tzdb.dat", "conf/security/java.security", "lib/server/libjvm.so"}) {
            assertThat(jre.resolve(f)).as(f).exists();
        }
        // With German messages gone from the runtime, a German user's JVM falls back to English: the model still
        // runs, and the bundle's own errors and java.util.logging's level names read as they do elsewhere.
        String german = "-Duser.language=de -Duser.country=DE";
        Proc ok = runBundleWith(german, "--top", "1", images.getFirst().toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("\"top\":[{\"label\":");
        Proc missing = runBundleWith(german, dir.resolve("none.png").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("error: Image file not found").doesNotContain("\tat ");
        // The launcher's German help is gone: java -help prints the English text (a JDK prints "Verwendung:").
        Process help = new ProcessBuilder(jre.resolve("bin/java").toString(), "-Duser.language=de",
                "-Duser.country=DE", "-help").redirectErrorStream(true).start();
        String text = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(help.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(text).contains("Usage: java").doesNotContain("Verwendung");
    }

    @Test
    void theBundledRuntimeJarHoldsOnlyRuntimeClasses() throws Exception {
        Path jar;
        try (Stream<Path> s = Files.list(bundle.resolve("lib"))) {
            jar = s.filter(p -> p.getFileName().toString().startsWith("tandem-runtime")).findFirst().orElseThrow();
        }
        List<String> foreign = new ArrayList<>();
        int classes = 0;
        try (JarFile j = new JarFile(jar.toFile())) {
            for (Enumeration<JarEntry> e = j.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (name.endsWith(".class")) {
                    classes++;
                    if (!name.startsWith("dev/tandem/runtime/")) {
                        foreign.add(name);
                    }
                } else if (name.startsWith("dev/") && !name.startsWith("dev/tandem/runtime/")
                        && !(name.endsWith("/") && "dev/tandem/runtime/".startsWith(name))) {
                    foreign.add(name);
                }
            }
        }
        assertThat(classes).isGreaterThan(200);
        assertThat(foreign).as("training, CUDA, server or CLI code in the runtime jar").isEmpty();
    }

    @Test
    void predictRunsWithoutJavaInstalledAndAnswersAsTheClassifierInProcess() throws Exception {
        List<String> args = new ArrayList<>(List.of("--top", "3", "--threads", "1"));
        images.forEach(p -> args.add(p.toString()));
        Proc p = runBundle(args.toArray(String[]::new));
        assertThat(p.code()).as(p.err()).isZero();
        List<String> lines = p.out().lines().toList();
        assertThat(lines).hasSize(images.size());
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withTopK(3).withThreads(1))) {
            List<List<Prediction>> want = c.classifyFiles(images);
            ObjectMapper json = new ObjectMapper();
            for (int i = 0; i < images.size(); i++) {
                JsonNode line = json.readTree(lines.get(i));
                assertThat(line.path("file").asText()).isEqualTo(images.get(i).toString());
                JsonNode top = line.path("top");
                assertThat(top).hasSize(3);
                for (int k = 0; k < 3; k++) {
                    Prediction w = want.get(i).get(k);
                    assertThat(top.get(k).path("label").asText()).isEqualTo(w.label());
                    assertThat(top.get(k).path("index").asInt()).isEqualTo(w.index());
                    assertThat(top.get(k).path("probability").asDouble()).isCloseTo(w.probability(), within(1e-6));
                }
            }
        }
    }

    @Test
    void theBundleRefusesWhatItCannotDoInOneLine() throws Exception {
        Proc budget = runBundle("--max-memory", "1m", images.getFirst().toString());
        assertThat(budget.code()).isEqualTo(2);
        assertThat(budget.err()).contains("error: The model's weights alone need", "budget is 1048576 bytes");
        Path jpeg = dir.resolve("photo.jpg");
        ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB), "jpeg", jpeg.toFile());
        Proc notPng = runBundle(jpeg.toString());
        assertThat(notPng.code()).isEqualTo(2);
        assertThat(notPng.err()).contains("is not a PNG image", "tandem package --image-io").doesNotContain("\tat ");
    }

    @Test
    void packagingRefusesBadModelsAndFoldersItMustNotTouch() throws Exception {
        String m = model.toString();
        TrainCommandsTest.Result missing = TrainCommandsTest.run("package", "--model", dir.resolve("none.onnx")
                .toString(), "--out", dir.resolve("b1").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("Model file not found: " + dir.resolve("none.onnx"));
        assertThat(dir.resolve("b1")).doesNotExist();

        Path notModel = Files.writeString(dir.resolve("notes.onnx"), "not a model");
        TrainCommandsTest.Result bad = TrainCommandsTest.run("package", "--model", notModel.toString(), "--out",
                dir.resolve("b2").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("cannot be packaged", "not a classifier Tandem can run");

        // A folder with other things in it is never replaced, --force or not.
        Path mine = Files.createDirectories(dir.resolve("my-files"));
        Files.writeString(mine.resolve("thesis.tex"), "precious");
        for (boolean force : new boolean[] {false, true}) {
            TrainCommandsTest.Result r = force
                    ? TrainCommandsTest.run("package", "--model", m, "--out", mine.toString(), "--force")
                    : TrainCommandsTest.run("package", "--model", m, "--out", mine.toString());
            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.err()).contains("is not empty and holds no Tandem bundle", "give a new or empty folder");
        }
        assertThat(Files.readString(mine.resolve("thesis.tex"))).isEqualTo("precious");

        TrainCommandsTest.Result again = TrainCommandsTest.run("package", "--model", m, "--out", bundle.toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).contains("holds a bundle already; give --force to replace it");

        Path file = Files.writeString(dir.resolve("a-file"), "x");
        TrainCommandsTest.Result onFile = TrainCommandsTest.run("package", "--model", m, "--out", file.toString());
        assertThat(onFile.err()).contains("is a file; give a folder");
        TrainCommandsTest.Result under = TrainCommandsTest.run("package", "--model", m, "--out",
                file.resolve("b").toString());
        assertThat(under.exitCode()).isEqualTo(2);
        assertThat(under.err()).contains("'" + file + "' is a file");

        Path locked = Files.createDirectories(dir.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            if (!Files.isWritable(locked)) { // root may write anywhere: then there is nothing to refuse
                TrainCommandsTest.Result denied = TrainCommandsTest.run("package", "--model", m, "--out",
                        locked.resolve("b").toString());
                assertThat(denied.exitCode()).isEqualTo(2);
                assertThat(denied.err()).contains("permission denied", "give a --out where you can write");
            }
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aJdkThatCannotLinkIsNamedWithTheFix() throws Exception {
        String m = model.toString();
        // The bundle's own runtime is a jlinked image: it has no jlink.
        TrainCommandsTest.Result noJlink = TrainCommandsTest.run("package", "--model", m, "--out",
                dir.resolve("b3").toString(), "--jdk", bundle.resolve("jre").toString());
        assertThat(noJlink.exitCode()).isEqualTo(2);
        assertThat(noJlink.err()).contains("No jlink in '" + bundle.resolve("jre") + "'", "give --jdk with one");

        Path old = fakeJdk("old-jdk", "21.0.5", "exit 0");
        TrainCommandsTest.Result tooOld = TrainCommandsTest.run("package", "--model", m, "--out",
                dir.resolve("b4").toString(), "--jdk", old.toString());
        assertThat(tooOld.err()).contains("is Java 21.0.5; the runtime jar needs Java 25+");

        // A jlink that finds neither jmods/ nor a linkable run-time image, as such JDKs answer.
        Path noJmods = fakeJdk("no-jmods", "25.0.1", "echo 'Error: --module-path is not specified and this runtime "
                + "image does not contain jmods directory.' >&2; exit 1");
        TrainCommandsTest.Result cannot = TrainCommandsTest.run("package", "--model", m, "--out",
                dir.resolve("b5").toString(), "--jdk", noJmods.toString());
        assertThat(cannot.exitCode()).isEqualTo(2);
        assertThat(cannot.err()).contains("cannot link a runtime: it has no jmods/", "install a JDK 25+ that ships jmods");
        assertThat(dir.resolve("b5")).doesNotExist();
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".b5.tmp-"));
        }
    }

    /** A folder shaped like a JDK whose bin/jlink is a shell script. */
    private static Path fakeJdk(String name, String version, String jlinkBody) throws IOException {
        Path jdk = Files.createDirectories(dir.resolve(name).resolve("bin"));
        Files.writeString(jdk.resolve("jlink"), "#!/bin/sh\n" + jlinkBody + "\n");
        Files.setPosixFilePermissions(jdk.resolve("jlink"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(jdk.getParent().resolve("release"), "JAVA_VERSION=\"" + version + "\"\n"
                + "OS_NAME=\"Linux\"\nOS_ARCH=\"x86_64\"\n");
        return jdk.getParent();
    }

}
