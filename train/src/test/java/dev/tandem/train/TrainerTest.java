package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.Splits;
import dev.tandem.train.io.Checkpoint;
import dev.tandem.train.report.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Trainer end to end on the bundled Fashion-MNIST subset (few steps per epoch, so it is quick): the run folder,
 * the exported model agreeing with the trainer's own evaluation, resume giving the same result as an
 * uninterrupted run, and a diverging run keeping its last good checkpoint.
 */
class TrainerTest {
    private static Splits data;

    @BeforeAll
    static void load() {
        data = Quickstart.subset();
    }

    private static TrainOptions quick(Path out) {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream());
        return new TrainOptions().out(out).epochs(2).batch(64).lr(0.05).maxStepsPerEpoch(15).threads(2).workers(1)
                .progress(new Progress.Options(Progress.Mode.QUIET, sink, Duration.ofSeconds(10)));
    }

    @Test
    void writesTheRunFolderAndAModelThatReproducesTheTestAccuracy(@TempDir Path dir) throws Exception {
        Trainer.Result r = new Trainer(quick(dir)).fit(data, "fashion-mnist subset");
        assertThat(r.epochs()).isEqualTo(2);
        for (String f : new String[] {"model.onnx", "metrics.csv", "metrics.json", "curves.png", "confusion.png",
                "checkpoints/last.ckpt", "checkpoints/best.ckpt"}) {
            assertThat(dir.resolve(f)).as(f).isNotEmptyFile();
        }
        assertThat(ImageIO.read(dir.resolve("curves.png").toFile())).isNotNull();
        assertThat(Files.readAllLines(dir.resolve("metrics.csv"))).hasSize(3);
        String json = Files.readString(dir.resolve("metrics.json"));
        assertThat(json).contains("\"test_accuracy\"", "\"train_images_per_second\"", "\"dataset_sha256\"");
        // 30 steps of 64 images already beat chance (10%) by far.
        assertThat(r.bestTestAccuracy()).isGreaterThan(0.5);

        // The exported model, run by the runtime with its own metadata's normalisation, scores the same accuracy.
        try (Model m = Model.load(r.model())) {
            Map<String, String> meta = m.metadata();
            assertThat(meta).containsEntry("tandem.input.size", "28,28").containsEntry("tandem.input.color", "GRAY")
                    .containsKey("tandem.train.dataset_sha256").containsKey("tandem.train.recipe");
            assertThat(meta.get("tandem.labels")).contains("Ankle boot");
            float mean = Float.parseFloat(meta.get("tandem.input.mean"));
            float std = Float.parseFloat(meta.get("tandem.input.std"));
            Dataset test = data.test();
            int n = test.size(), correct = 0;
            float[] x = new float[28 * 28];
            for (int i = 0; i < n; i++) {
                test.read(i, x, 0);
                for (int j = 0; j < x.length; j++) {
                    x[j] = (x[j] - mean) / std;
                }
                try (Tensor in = Tensor.ofFloats(Shape.of(1, 1, 28, 28), x); Tensor out = m.run(in)) {
                    float[] logits = out.toFloatArray();
                    int best = 0;
                    for (int c = 1; c < logits.length; c++) {
                        best = logits[c] > logits[best] ? c : best;
                    }
                    correct += best == test.label(i) ? 1 : 0;
                }
            }
            assertThat(correct / (double) n).isCloseTo(r.bestTestAccuracy(), org.assertj.core.data.Offset.offset(
                    1.5 / n));
        }
    }

    @Test
    void resumingGivesTheSameModelAsAnUninterruptedRun(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        new Trainer(quick(straight)).fit(data, "subset");
        assertThat(new Trainer(quick(resumed).stopAfterEpoch(1)).fit(data, "subset")).isNull();
        assertThat(Checkpoint.read(resumed.resolve("checkpoints/last.ckpt")).state()).containsEntry("epoch", 1);
        new Trainer(quick(resumed).resume(true)).fit(data, "subset");
        Checkpoint.Contents a = Checkpoint.read(straight.resolve("checkpoints/last.ckpt"));
        Checkpoint.Contents b = Checkpoint.read(resumed.resolve("checkpoints/last.ckpt"));
        assertThat(b.tensors().keySet()).isEqualTo(a.tensors().keySet());
        for (String k : a.tensors().keySet()) {
            assertThat(java.util.Arrays.equals(b.floats(k), a.floats(k))).as(k + " bit-identical").isTrue();
        }
        // Same losses and accuracies per epoch (the timing columns differ).
        assertThat(Files.readAllLines(resumed.resolve("metrics.csv")).stream().map(TrainerTest::scores))
                .containsExactlyElementsOf(Files.readAllLines(straight.resolve("metrics.csv")).stream()
                        .map(TrainerTest::scores).toList());
    }

    private static String scores(String csvLine) {
        String[] f = csvLine.split(",");
        return String.join(",", java.util.Arrays.copyOf(f, 5));
    }

    @Test
    void aDivergingRunStopsWithAClearErrorAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws Exception {
        assertThat(new Trainer(quick(dir).stopAfterEpoch(1)).fit(data, "subset")).isNull();
        byte[] before = Files.readAllBytes(dir.resolve("checkpoints/last.ckpt"));
        assertThatThrownBy(() -> new Trainer(quick(dir).resume(true).lr(1e12).schedule(TrainOptions.Schedule.CONSTANT))
                .fit(data, "subset")).isInstanceOf(TrainingDivergedException.class)
                .hasMessageContaining("epoch 2").hasMessageContaining("last good checkpoint");
        assertThat(Files.readAllBytes(dir.resolve("checkpoints/last.ckpt"))).isEqualTo(before);
        assertThat(Checkpoint.read(dir.resolve("checkpoints/last.ckpt")).state()).containsEntry("epoch", 1);
    }
}
