package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RecipeBench} on the CPU with a tiny IDX set: one line per epoch and a RESULT line that parses. */
class RecipeBenchTest {
    private static void idx(Path dir, String name, int count, boolean images, Random rnd) throws IOException {
        try (OutputStream f = Files.newOutputStream(dir.resolve(name));
             DataOutputStream out = new DataOutputStream(f)) {
            out.writeInt(images ? 0x803 : 0x801);
            out.writeInt(count);
            if (images) {
                out.writeInt(28);
                out.writeInt(28);
            }
            byte[] b = new byte[images ? count * 28 * 28 : count];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (images ? rnd.nextInt(256) : rnd.nextInt(10));
            }
            out.write(b);
        }
    }

    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = RecipeBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(rc), out.toString(StandardCharsets.UTF_8),
            err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void oneEpochOnTheCpuPrintsAParsableResult(@TempDir Path dir) throws IOException {
        Random rnd = new Random(5);
        idx(dir, "train-images-idx3-ubyte", 40, true, rnd);
        idx(dir, "train-labels-idx1-ubyte", 40, false, rnd);
        idx(dir, "t10k-images-idx3-ubyte", 12, true, rnd);
        idx(dir, "t10k-labels-idx1-ubyte", 12, false, rnd);
        String[] r = run("--data", dir.toString(), "--device", "cpu", "--epochs", "1", "--max-steps", "3",
                "--batch", "8", "--threads", "2");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        String[] lines = r[1].split("\n");
        assertThat(lines[0]).startsWith("Device: cpu");
        assertThat(lines[1]).startsWith("epoch 1/1 train_loss=").contains("test_acc=", "images_per_second=");
        String last = lines[lines.length - 1];
        Matcher m = Pattern.compile("RESULT device=(\\S+) epochs=(\\d+) train_seconds=(\\S+) total_seconds=(\\S+) "
                + "test_accuracy=(\\S+) best=(\\S+)").matcher(last);
        assertThat(m.matches()).as(last).isTrue();
        Map<String, String> v = new LinkedHashMap<>();
        for (String kv : last.substring("RESULT ".length()).split(" ")) {
            v.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        assertThat(v).containsEntry("device", "cpu").containsEntry("epochs", "1");
        double train = Double.parseDouble(v.get("train_seconds")), total = Double.parseDouble(v.get("total_seconds"));
        assertThat(train).isPositive().isLessThanOrEqualTo(total);
        double acc = Double.parseDouble(v.get("test_accuracy"));
        assertThat(acc).isBetween(0.0, 1.0).isEqualTo(Double.parseDouble(v.get("best")));
        assertThat(Arrays.stream(lines).filter(l -> l.startsWith("epoch ")).count()).isEqualTo(1);
    }

    @Test
    void cudaWithoutTheBackendExitsWithThree(@TempDir Path dir) {
        String[] r = run("--data", dir.toString(), "--device", "cuda", "--epochs", "1");
        assertThat(r[0]).isEqualTo("3");
        assertThat(r[2]).contains("no CUDA backend");
        assertThat(run("--epochs", "1")[0]).isEqualTo("2");
    }

    @Test
    void aMissingOrEmptyDataFolderIsAClearError(@TempDir Path dir) {
        String[] missing = run("--data", dir.resolve("nope").toString(), "--device", "cpu", "--epochs", "1");
        assertThat(missing[0]).isEqualTo("2");
        assertThat(missing[2]).startsWith("RecipeBench: ").contains("does not exist");
        String[] empty = run("--data", dir.toString(), "--device", "cpu", "--epochs", "1");
        assertThat(empty[0]).isEqualTo("2");
        assertThat(empty[2]).startsWith("RecipeBench: ");
    }
}
