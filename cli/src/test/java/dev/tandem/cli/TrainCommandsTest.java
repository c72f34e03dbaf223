package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** tandem train, eval and predict on an image folder the test draws: two easy classes (bars and rings). */
class TrainCommandsTest {
    @TempDir
    static Path dir;
    static Path data;

    record Result(int exitCode, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Tandem.commandLine();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void draw() throws Exception {
        data = dir.resolve("shapes");
        Random rnd = new Random(5);
        for (String cls : new String[] {"bars", "rings"}) {
            Files.createDirectories(data.resolve(cls));
            for (int i = 0; i < 40; i++) {
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = img.createGraphics();
                g.setColor(Color.WHITE);
                int o = rnd.nextInt(4);
                if (cls.equals("bars")) {
                    g.fillRect(2 + o, 1, 3, 14);
                    g.fillRect(9 + o / 2, 1, 3, 14);
                } else {
                    g.drawOval(2 + o, 2 + o / 2, 10, 10);
                }
                g.dispose();
                ImageIO.write(img, "png", data.resolve(cls).resolve(i + ".png").toFile());
            }
        }
    }

    @Test
    void trainEvalPredictOnAFolder() throws Exception {
        // 16x16 grey images, stored as RGB PNGs.
        Path out = dir.resolve("run");
        Result t = run("train", "--data", "folder:" + data, "--arch", "fashionnet", "--epochs", "3", "--batch", "16",
                "--lr", "0.05", "--image-size", "16x16", "--channels", "1", "--threads", "2", "--quiet", "--out",
                out.toString());
        assertThat(t.exitCode()).as(t.err()).isZero();
        JsonNode summary = new ObjectMapper().readTree(t.out().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(summary.get("epochs").asInt()).isEqualTo(3);
        assertThat(summary.get("test_accuracy").asDouble()).isGreaterThan(0.7);
        assertThat(out.resolve("model.onnx")).isNotEmptyFile();

        Result e = run("eval", "--model", out.resolve("model.onnx").toString(), "--data", "folder:" + data,
                "--confusion", dir.resolve("c.png").toString(), "--threads", "2");
        assertThat(e.exitCode()).as(e.err()).isZero();
        JsonNode ev = new ObjectMapper().readTree(e.out());
        assertThat(ev.get("accuracy").asDouble()).isCloseTo(summary.get("test_accuracy").asDouble(),
                org.assertj.core.data.Offset.offset(1e-9));
        assertThat(ev.get("classes").get(1).get("label").asText()).isEqualTo("rings");
        assertThat(ev.get("confusion").size()).isEqualTo(2);
        assertThat(ImageIO.read(dir.resolve("c.png").toFile())).isNotNull();

        Result p = run("predict", "--model", out.resolve("model.onnx").toString(), "--top", "1",
                data.resolve("rings/0.png").toString());
        assertThat(p.exitCode()).as(p.err()).isZero();
        assertThat(p.out()).contains("\"label\":\"");
    }

    @Test
    void cudaWithoutAGpuIsAClearError() {
        // The driver named at a path that does not exist: the same answer on machines with and without a GPU.
        String key = "tandem.cuda.libcuda";
        String before = System.getProperty(key);
        System.setProperty(key, dir.resolve("no-driver/libcuda.so.1").toString());
        try {
            Result r = run("train", "--data", "folder:" + data, "--device", "cuda", "--out", dir.resolve("x").toString());
            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.err()).startsWith("error: --device cuda: no usable GPU: missing CUDA driver")
                    .contains("CUDA driver not found: -Dtandem.cuda.libcuda=" + dir.resolve("no-driver/libcuda.so.1")
                            + ": no such file or folder");
            assertThat(r.err()).doesNotContain("\tat ");
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }

    @Test
    void cpuTrainingLoadsNoCudaLibrary() throws Exception {
        Path maps = Path.of("/proc/self/maps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps), "skipped: no /proc/self/maps to inspect");
        java.util.Set<String> before = cudaMappings(maps);
        Result t = run("train", "--data", "folder:" + data, "--device", "cpu", "--epochs", "1", "--batch", "16",
                "--steps-per-epoch", "1", "--image-size", "16x16", "--channels", "1", "--threads", "1", "--quiet",
                "--out", dir.resolve("cpu-only").toString());
        assertThat(t.exitCode()).as(t.err()).isZero();
        assertThat(t.err()).doesNotContain("Device:");
        assertThat(cudaMappings(maps)).as("CUDA libraries mapped by a --device cpu run").isEqualTo(before);
    }

    @Test
    void precisionIsCheckedAndSaysItIsForTheGpu() {
        Result bad = run("train", "--data", "folder:" + data, "--device", "cpu", "--precision", "fp8", "--out",
                dir.resolve("p-bad").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).startsWith("error: --precision: 'fp8' is not one of tf32, float32, bf16");
        Result cpu = run("train", "--data", "folder:" + data, "--device", "cpu", "--precision", "bf16", "--epochs",
                "1", "--batch", "16", "--steps-per-epoch", "1", "--image-size", "16x16", "--channels", "1", "--threads",
                "1", "--quiet", "--out", dir.resolve("p-cpu").toString());
        assertThat(cpu.exitCode()).as(cpu.err()).isZero();
        assertThat(cpu.err()).contains("--precision bf16 applies to a GPU; on the CPU training runs in float32");
    }

    private static java.util.Set<String> cudaMappings(Path maps) throws java.io.IOException {
        java.util.Set<String> libs = new java.util.TreeSet<>();
        for (String line : Files.readAllLines(maps)) {
            if (line.matches(".*/lib(cuda|cublas|cublasLt|nvrtc|cudnn)[^/]*\\.so[^/]*$")) {
                libs.add(line.substring(line.indexOf('/')));
            }
        }
        return libs;
    }

    @Test
    void missingDataIsOneLine() {
        Result r = run("train", "--data", "fashion-mnist:" + dir.resolve("nope"), "--out", dir.resolve("y").toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().lines().filter(l -> l.startsWith("error:")).toList()).singleElement()
                .satisfies(l -> assertThat(l).contains("nope"));
        assertThat(r.err()).doesNotContain("\tat ");
    }
}
