package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.train.io.CheckpointDir;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real {@code tandem train} process while it writes a checkpoint after every epoch, then checks that a
 * checkpoint still loads and that {@code --resume} finishes the run.
 */
class TrainKillTest {
    @TempDir
    Path dir;

    @Test
    void aKilledTrainingRunResumesFromAGoodCheckpoint() throws Exception {
        Path data = dir.resolve("data");
        Random rnd = new Random(9);
        for (String cls : new String[] {"a", "b"}) {
            Files.createDirectories(data.resolve(cls));
            for (int i = 0; i < 24; i++) {
                BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
                Graphics2D g = img.createGraphics();
                g.setColor(Color.WHITE);
                g.fillRect(cls.equals("a") ? 0 : 4, rnd.nextInt(3), 4, 5);
                g.dispose();
                ImageIO.write(img, "png", data.resolve(cls).resolve(i + ".png").toFile());
            }
        }
        Path out = dir.resolve("run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                Tandem.class.getName()));
        List<String> args = List.of("train", "--data", "folder:" + data, "--epochs", "40", "--batch", "8",
                "--threads", "1", "--quiet", "--out", out.toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile())
                .start();
        Path last = out.resolve("checkpoints").resolve(CheckpointDir.LAST);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(last) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(last).as(Files.readString(dir.resolve("log"))).exists();
        Thread.sleep(700 + rnd.nextInt(500));
        assertThat(p.isAlive()).as("still training when killed").isTrue();
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);

        var found = CheckpointDir.latest(out.resolve("checkpoints"));
        assertThat(found).isPresent();
        int epoch = ((Number) found.get().contents().state().get("epoch")).intValue();
        assertThat(epoch).isBetween(1, 39);

        TrainCommandsTest.Result r = TrainCommandsTest.run(args.toArray(new String[0]).length == 0 ? null
                : concat(args, "--resume"));
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"epochs\":40");
        assertThat(out.resolve("model.onnx")).isNotEmptyFile();
    }

    private static String[] concat(List<String> a, String extra) {
        List<String> all = new ArrayList<>(a);
        all.add(extra);
        return all.toArray(new String[0]);
    }
}
