package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.Splits;
import dev.tandem.train.engine.HostDeviceSession;
import dev.tandem.train.io.Checkpoint;
import dev.tandem.train.report.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Trainer#fit} on a device session (the {@link HostDeviceSession} double, whose host copies stay stale until
 * downloaded): the same metrics, checkpoints and exported model as on the CPU, also when resumed. Forgetting a
 * download before the checkpoint or the best weights are read makes these comparisons fail.
 */
class TrainerDeviceTest {
    private static Splits data;

    @BeforeAll
    static void load() {
        data = Quickstart.subset();
    }

    private static TrainOptions quick(Path out) {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream());
        return new TrainOptions().out(out).epochs(2).batch(32).lr(0.05).maxStepsPerEpoch(4).threads(2).workers(1)
                .progress(new Progress.Options(Progress.Mode.QUIET, sink, Duration.ofSeconds(10)));
    }

    private static List<String> scores(Path run) throws Exception {
        return Files.readAllLines(run.resolve("metrics.csv")).stream()
                .map(l -> String.join(",", Arrays.copyOf(l.split(","), 5))).toList();
    }

    private static void sameCheckpoint(Path a, Path b) throws Exception {
        Checkpoint.Contents x = Checkpoint.read(a), y = Checkpoint.read(b);
        assertThat(y.tensors().keySet()).isEqualTo(x.tensors().keySet());
        assertThat(x.tensors().keySet()).anyMatch(k -> k.startsWith("optim/")).anyMatch(k -> k.startsWith("best/"));
        for (String k : x.tensors().keySet()) {
            assertThat(Arrays.equals(y.floats(k), x.floats(k))).as(a.getFileName() + " " + k + " bit-identical")
                    .isTrue();
        }
        assertThat(y.state()).isEqualTo(x.state());
    }

    private static void sameRun(Path cpu, Path dev) throws Exception {
        assertThat(scores(dev)).containsExactlyElementsOf(scores(cpu));
        sameCheckpoint(cpu.resolve("checkpoints/last.ckpt"), dev.resolve("checkpoints/last.ckpt"));
        sameCheckpoint(cpu.resolve("checkpoints/best.ckpt"), dev.resolve("checkpoints/best.ckpt"));
        assertThat(Files.readAllBytes(dev.resolve("model.onnx"))).as("model.onnx")
                .isEqualTo(Files.readAllBytes(cpu.resolve("model.onnx")));
    }

    @Test
    void aRunOnTheDeviceDoubleMatchesTheCpuRunAndResumes(@TempDir Path dir) throws Exception {
        Path cpu = dir.resolve("cpu"), dev = dir.resolve("dev"), resumed = dir.resolve("resumed");
        Trainer.Result c = new Trainer(quick(cpu)).fit(data, "subset");
        Trainer.Result d;
        try (HostDeviceSession device = new HostDeviceSession()) {
            d = new Trainer(quick(dev).device(device)).fit(data, "subset");
            assertThat(device.downloads()).isGreaterThanOrEqualTo(2);
            assertThat(device.runs()).isGreaterThan(8);
        }
        assertThat(d.bestTestAccuracy()).isEqualTo(c.bestTestAccuracy());
        assertThat(d.bestEpoch()).isEqualTo(c.bestEpoch());
        sameRun(cpu, dev);
        assertThat(Files.readString(dev.resolve("metrics.json"))).contains("\"device\" : \"host test double\"");
        assertThat(Files.readString(cpu.resolve("metrics.json"))).contains("\"device\" : \"cpu\"");

        // Interrupted after epoch 1 and resumed, each part with its own session: the checkpoint is loaded into
        // the host tensors before any graph attaches them.
        try (HostDeviceSession device = new HostDeviceSession()) {
            assertThat(new Trainer(quick(resumed).device(device).stopAfterEpoch(1)).fit(data, "subset")).isNull();
        }
        try (HostDeviceSession device = new HostDeviceSession()) {
            new Trainer(quick(resumed).device(device).resume(true)).fit(data, "subset");
        }
        sameRun(cpu, resumed);
    }
}
