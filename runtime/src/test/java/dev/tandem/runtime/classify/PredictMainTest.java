package dev.tandem.runtime.classify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.TestModels;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runtime's own predict command: tandem predict's JSON lines, from the runtime jar alone. */
class PredictMainTest {
    @TempDir
    Path dir;
    Path model;
    List<Path> images = new ArrayList<>();

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = PredictMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** x[batch,3,1,1] → Relu: the logits are the pixel's colour, labelled with a quote and an accent. */
    @BeforeEach
    void writeModelAndImages() throws Exception {
        model = dir.resolve("rgb.onnx");
        Files.write(model, TestModels.relu(Map.of("tandem.input.scale", "1/64", "tandem.input.mean", "0",
                "tandem.input.std", "1", "tandem.labels", "[\"r\\\"ed\", \"gr\u00fcn\", \"blue\"]"), -1, 3, 1, 1)
                .toByteArray());
        int[][] colours = {{0x0a_c8_32, BufferedImage.TYPE_INT_RGB}, {0xff_10_20, BufferedImage.TYPE_INT_ARGB},
            {0x80_80_80, BufferedImage.TYPE_BYTE_GRAY}};
        for (int i = 0; i < colours.length; i++) {
            BufferedImage img = new BufferedImage(5, 4, colours[i][1]);
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 5; x++) {
                    img.setRGB(x, y, colours[i][0] ^ (x * 0x030201));
                }
            }
            Path f = dir.resolve("img" + i + ".png");
            ImageIO.write(img, "png", f.toFile());
            images.add(f);
        }
    }

    private String[] args(String... options) {
        List<String> a = new ArrayList<>(List.of("--model", model.toString()));
        a.addAll(List.of(options));
        images.forEach(p -> a.add(p.toString()));
        return a.toArray(String[]::new);
    }

    private List<String> expectedLines(int top) {
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withTopK(top))) {
            List<List<Prediction>> r = c.classifyFiles(images);
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                lines.add(PredictionJson.line(images.get(i).toString(), r.get(i)));
            }
            return lines;
        }
    }

    @Test
    void printsOneJsonLinePerImageAsTheClassifierAnswers() {
        Result r = run(args("--top", "2", "--threads", "1"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).isEqualTo(expectedLines(2));
        assertThat(r.out()).contains("\"label\":\"r\\\"ed\"", "gr\\u00fcn").isEqualTo(new String(
                r.out().getBytes(StandardCharsets.US_ASCII), StandardCharsets.US_ASCII));
        assertThat(r.out().lines().findFirst().orElseThrow()).startsWith("{\"file\":\"" + images.getFirst()
                + "\",\"top\":[{\"label\":\"gr\\u00fcn\",\"index\":1,\"probability\":");
    }

    @Test
    void withoutJavaDesktopPngsDecodeToTheSameAnswers() throws Exception {
        // A JVM whose module graph lacks java.desktop, as in a bundle's runtime: PNGs go through PngDecoder.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--limit-modules", "java.base,java.logging,jdk.unsupported,jdk.incubator.vector",
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                PredictMain.class.getName()));
        cmd.addAll(List.of(args("--top", "3", "--threads", "1")));
        Path jpeg = dir.resolve("photo.jpg");
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "jpeg", jpeg.toFile());
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("err.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("err.txt"))).isZero();
        assertThat(out.lines().toList()).isEqualTo(expectedLines(3));

        cmd.add(jpeg.toString());
        Process q = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String both = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(q.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(q.exitValue()).isEqualTo(2);
        assertThat(both).contains("error: '" + jpeg + "' is not a PNG image; this Java runtime has no java.desktop",
                "tandem package --image-io");
    }

    @Test
    void badArgumentsAndInputsAreOneLineWithExitCode2() throws Exception {
        Path notImage = Files.writeString(dir.resolve("notes.png"), "not a picture");
        String[][] cases = {
            {"give the model: --model M.onnx", images.getFirst().toString()},
            {"give at least one image file", "--model", model.toString()},
            {"unknown option '--colour'", "--model", model.toString(), "--colour", "x.png"},
            {"--top must be a whole number >= 1; got '0'", "--model", model.toString(), "--top", "0", "x.png"},
            {"--threads needs a value", "--model", model.toString(), "x.png", "--threads"},
            {"--model given twice", "--model", model.toString(), "--model=" + model, "x.png"},
            {"--max-memory: '64q' is not a memory size", "--model", model.toString(), "--max-memory", "64q", "x.png"},
            {"Image file not found: " + dir.resolve("none.png"), "--model", model.toString(),
                dir.resolve("none.png").toString()},
            {"'" + notImage + "' is not an image Tandem can decode", "--model", model.toString(), notImage.toString()},
            {"The model needs ", "--model", model.toString(), "--max-memory", "1", images.getFirst().toString()},
            {"Model file not found", "--model", dir.resolve("none.onnx").toString(), "x.png"},
        };
        for (String[] c : cases) {
            String[] a = java.util.Arrays.copyOfRange(c, 1, c.length);
            Result r = run(a);
            assertThat(r.code()).as(String.join(" ", a)).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", a)).startsWith("error: ").contains(c[0]).doesNotContain("\tat ");
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void helpPrintsTheUsage() {
        Result r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("usage: predict").contains("--max-memory BYTES");
        // "--" ends the options: a file may start with a dash.
        Result dash = run("--model", model.toString(), "--", "-odd.png");
        assertThat(dash.err()).contains("Image file not found: -odd.png");
    }
}
