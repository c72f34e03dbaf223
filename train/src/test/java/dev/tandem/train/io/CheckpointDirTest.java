package dev.tandem.train.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointDirTest {
    @TempDir
    Path dir;

    private static Map<String, TensorData> weights(float value) {
        return Map.of("w", new TensorData.F32(new float[] {value, value}));
    }

    @Test
    void emptyFolderHasNoCheckpoint() throws IOException {
        assertThat(CheckpointDir.latest(dir)).isEmpty();
    }

    @Test
    void keepsLastPreviousAndBest() throws IOException {
        CheckpointDir ckpt = new CheckpointDir(dir.resolve("run"), true);
        ckpt.saveLast(weights(1), Map.of("epoch", 1));
        ckpt.saveLast(weights(2), Map.of("epoch", 2));
        ckpt.copyLastToBest();
        ckpt.saveLast(weights(3), Map.of("epoch", 3));

        assertThat(epoch(ckpt.dir().resolve(CheckpointDir.LAST))).isEqualTo(3);
        assertThat(epoch(ckpt.dir().resolve(CheckpointDir.PREVIOUS))).isEqualTo(2);
        assertThat(epoch(ckpt.dir().resolve(CheckpointDir.BEST))).isEqualTo(2);
        Optional<CheckpointDir.Found> latest = ckpt.latest();
        assertThat(latest).get().satisfies(f -> {
            assertThat(f.file().getFileName().toString()).isEqualTo(CheckpointDir.LAST);
            assertThat(f.contents().floats("w")).containsExactly(3, 3);
            assertThat(f.rejected()).isEmpty();
        });
        try (var files = Files.list(ckpt.dir())) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(CheckpointDir.LAST, CheckpointDir.PREVIOUS, CheckpointDir.BEST);
        }
    }

    @Test
    void withoutPreviousOnlyLastIsKept() throws IOException {
        CheckpointDir ckpt = new CheckpointDir(dir, false);
        ckpt.saveLast(weights(1), Map.of("epoch", 1));
        ckpt.saveLast(weights(2), Map.of("epoch", 2));
        assertThat(Files.exists(dir.resolve(CheckpointDir.PREVIOUS))).isFalse();
        assertThat(ckpt.latest()).get().extracting(f -> f.contents().state().get("epoch")).isEqualTo(2);
    }

    @Test
    void latestFallsBackToTheNewestThatVerifies() throws IOException {
        CheckpointDir ckpt = new CheckpointDir(dir, true);
        ckpt.saveBest(weights(1), Map.of("epoch", 1));
        ckpt.saveLast(weights(2), Map.of("epoch", 2));
        ckpt.saveLast(weights(3), Map.of("epoch", 3));
        setTimes(3, 2, 1);

        corrupt(dir.resolve(CheckpointDir.LAST));
        CheckpointDir.Found found = CheckpointDir.latest(dir).orElseThrow();
        assertThat(found.file().getFileName().toString()).isEqualTo(CheckpointDir.PREVIOUS);
        assertThat(found.contents().state()).containsEntry("epoch", 2);
        assertThat(found.rejected()).singleElement().satisfies(e -> assertThat(e)
                .hasMessageContaining(CheckpointDir.LAST).hasMessageContaining("corrupt"));

        Files.delete(dir.resolve(CheckpointDir.PREVIOUS));
        assertThat(CheckpointDir.latest(dir).orElseThrow().contents().state()).containsEntry("epoch", 1);

        corrupt(dir.resolve(CheckpointDir.BEST));
        assertThatThrownBy(() -> CheckpointDir.latest(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("none of its checkpoints verifies")
                .hasMessageContaining(CheckpointDir.LAST).hasMessageContaining(CheckpointDir.BEST);
    }

    @Test
    void modificationTimeDecidesWhichIsNewest() throws IOException {
        CheckpointDir ckpt = new CheckpointDir(dir, true);
        ckpt.saveLast(weights(1), Map.of("epoch", 1));
        ckpt.saveLast(weights(2), Map.of("epoch", 2));
        ckpt.saveBest(weights(9), Map.of("epoch", 9));
        setTimes(2, 1, 3);
        assertThat(CheckpointDir.latest(dir).orElseThrow().file().getFileName().toString())
                .isEqualTo(CheckpointDir.BEST);
    }

    private void setTimes(long last, long previous, long best) throws IOException {
        Instant base = Instant.parse("2025-01-01T00:00:00Z");
        Files.setLastModifiedTime(dir.resolve(CheckpointDir.LAST), FileTime.from(base.plusSeconds(last)));
        Files.setLastModifiedTime(dir.resolve(CheckpointDir.PREVIOUS), FileTime.from(base.plusSeconds(previous)));
        Files.setLastModifiedTime(dir.resolve(CheckpointDir.BEST), FileTime.from(base.plusSeconds(best)));
    }

    private static int epoch(Path file) throws IOException {
        return ((Number) Checkpoint.read(file).state().get("epoch")).intValue();
    }

    /** Flips a byte in place, keeping the modification time (bit rot, not a newer write). */
    private static void corrupt(Path file) throws IOException {
        FileTime time = Files.getLastModifiedTime(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0xff);
        }
        Files.setLastModifiedTime(file, time);
    }
}
