package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** --max-memory on predict, bench and serve; inspect's weight, arena and memory bytes that size it. */
class MemoryBudgetOptionsTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path image;
    /** Weights plus the arena of one run at batch 1, as inspect reports them. */
    static long weights;
    static long arena;

    @BeforeAll
    static void writeModel() throws Exception {
        model = FashionNetModel.write(dir.resolve("fashion.onnx"));
        image = dir.resolve("shoe.png");
        ImageIO.write(new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY), "png", image.toFile());
        TrainCommandsTest.Result r = TrainCommandsTest.run("inspect", "--model", model.toString(), "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        weights = j.path("weight_bytes").asLong();
        arena = j.path("arena_bytes").asLong();
        assertThat(weights).isGreaterThan(1_000_000);
        assertThat(arena).isPositive();
        assertThat(j.path("memory_bytes").asLong()).isEqualTo(weights + arena);
    }

    @Test
    void inspectTextShowsTheSumToo() {
        TrainCommandsTest.Result r = TrainCommandsTest.run("inspect", "--model", model.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("weight bytes    " + weights, "arena bytes     " + arena,
                "memory bytes    " + (weights + arena) + " (weights + arena, batch 1");
    }

    @Test
    void predictRunsWithinTheBudgetAndRefusesBelowItNamingBothNumbers() {
        long needed = weights + arena;
        TrainCommandsTest.Result ok = TrainCommandsTest.run("predict", "--model", model.toString(), "--threads", "1",
                "--max-memory", Long.toString(needed), image.toString());
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("\"top\"");

        TrainCommandsTest.Result low = TrainCommandsTest.run("predict", "--model", model.toString(), "--threads", "1",
                "--max-memory", Long.toString(needed - 1), image.toString());
        assertThat(low.exitCode()).isEqualTo(2);
        assertThat(low.err()).startsWith("error: The model needs " + needed + " bytes")
                .contains("budget is " + (needed - 1) + " bytes").doesNotContain("\tat ");

        TrainCommandsTest.Result tiny = TrainCommandsTest.run("predict", "--model", model.toString(),
                "--max-memory", "1m", image.toString());
        assertThat(tiny.exitCode()).isEqualTo(2);
        // at load the weights are the file's constants; inspect's figure is after planning (packed, Winograd)
        assertThat(tiny.err()).containsPattern("weights alone need \\d+ bytes")
                .contains("budget is 1048576 bytes (1.0 MiB)");
        long stored = Long.parseLong(tiny.err().replaceAll("(?s).*weights alone need (\\d+) bytes.*", "$1").trim());
        assertThat(stored).isPositive().isLessThanOrEqualTo(weights);
    }

    @Test
    void benchChecksTheBatchItRuns() {
        TrainCommandsTest.Result r = TrainCommandsTest.run("bench", "--model", model.toString(), "--threads", "1",
                "--iters", "1", "--warmup", "0", "--batch", "8", "--max-memory", Long.toString(weights + arena));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("for inputs input [8, 1, 28, 28]", "budget is " + (weights + arena) + " bytes");
        TrainCommandsTest.Result one = TrainCommandsTest.run("bench", "--model", model.toString(), "--threads", "1",
                "--iters", "1", "--warmup", "0", "--max-memory", "64m");
        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(one.out()).contains("\"memory_bytes\":" + (weights + arena));
    }

    @Test
    void malformedSizesAreUsageErrors() {
        for (String[] args : new String[][] {
            {"predict", "--model", model.toString(), "--max-memory", "64q", image.toString()},
            {"bench", "--model", model.toString(), "--max-memory", "1.5g"},
            {"serve", "--repository", dir.toString(), "--port", "0", "--max-memory", "-1"},
            {"predict", "--model", model.toString(), "--max-memory", "0", image.toString()},
        }) {
            TrainCommandsTest.Result r = TrainCommandsTest.run(args);
            assertThat(r.exitCode()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", args))
                    .contains("Invalid value for option '--max-memory'", "e.g. ", "64m").doesNotContain("\tat ");
        }
    }

    @Test
    void serveRefusesAVersionOverTheBudgetAndSaysWhy() throws Exception {
        Path repo = dir.resolve("repo");
        FashionNetModel.write(repo.resolve("fashion/1/model.onnx"));
        StringWriter out = new StringWriter();
        CommandLine cmd = Tandem.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        int[] code = {-1};
        // The server runs until interrupted (as a test stops it; SIGTERM in real use).
        Thread t = new Thread(() -> code[0] = cmd.execute("-v", "serve", "--repository", repo.toString(), "--port", "0",
                "--threads", "1", "--max-batch", "4", "--max-memory", Long.toString(weights + arena)));
        t.start();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!out.toString().contains("The page:") && t.isAlive() && System.nanoTime() < until) {
                Thread.sleep(20);
            }
        } finally {
            t.interrupt();
            t.join(30_000);
        }
        assertThat(code[0]).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("serving 0 model(s)", "Model 'fashion' version 1 not loaded: The model "
                + "needs", "input [4, 1, 28, 28]", "budget is " + (weights + arena) + " bytes");
    }
}
