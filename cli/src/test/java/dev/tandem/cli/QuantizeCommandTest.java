package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tandem quantize on a model trained on a drawn folder: a QDQ model that eval scores like the float one. */
class QuantizeCommandTest {
    @TempDir
    Path dir;

    @Test
    void quantizeWritesAModelEvalAccepts() throws Exception {
        Path data = dir.resolve("shapes");
        Random rnd = new Random(5);
        for (String cls : new String[] {"bars", "rings"}) {
            Files.createDirectories(data.resolve(cls));
            for (int i = 0; i < 30; i++) {
                BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = img.createGraphics();
                g.setColor(Color.WHITE);
                int o = rnd.nextInt(4);
                if (cls.equals("bars")) {
                    g.fillRect(2 + o, 1, 3, 14);
                } else {
                    g.drawOval(2 + o, 2 + o / 2, 10, 10);
                }
                g.dispose();
                ImageIO.write(img, "png", data.resolve(cls).resolve(i + ".png").toFile());
            }
        }
        Path run = dir.resolve("run");
        var t = TrainCommandsTest.run("train", "--data", "folder:" + data, "--arch", "fashionnet", "--epochs", "2",
                "--batch", "16", "--lr", "0.05", "--image-size", "16x16", "--channels", "1", "--threads", "2",
                "--quiet", "--out", run.toString());
        assertThat(t.exitCode()).as(t.err()).isZero();
        Path q = dir.resolve("m.int8.onnx");
        var r = TrainCommandsTest.run("quantize", "--model", run.resolve("model.onnx").toString(), "--calib",
                "folder:" + data, "--samples", "32", "--method", "percentile", "--threads", "2", "--out", q.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("Quantized 6 ops", "Left in float32", "MaxPool");
        assertThat(Files.size(q)).isLessThan(Files.size(run.resolve("model.onnx")) / 3);
        var e = TrainCommandsTest.run("eval", "--model", q.toString(), "--data", "folder:" + data, "--threads", "2");
        assertThat(e.exitCode()).as(e.err()).isZero();
        assertThat(e.out()).contains("\"accuracy\"");

        var bad = TrainCommandsTest.run("quantize", "--model", run.resolve("model.onnx").toString(), "--calib",
                "folder:" + data, "--method", "median", "--out", dir.resolve("x.onnx").toString());
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.err()).contains("minmax, percentile or entropy");
    }
}
