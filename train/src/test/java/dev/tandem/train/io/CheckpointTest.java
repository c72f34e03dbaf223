package dev.tandem.train.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    static Map<String, TensorData> tensors(int seed) {
        Random random = new Random(seed);
        float[] big = new float[700_000]; // bigger than the writer's 1 MiB chunk
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) random.nextGaussian();
        }
        big[3] = Float.NaN;
        big[4] = Float.NEGATIVE_INFINITY;
        big[5] = -0.0f;
        Map<String, TensorData> t = new LinkedHashMap<>();
        t.put("conv1.weight", new TensorData.F32(new long[] {700, 10, 10, 10}, big));
        t.put("bn1.num_batches_tracked", new TensorData.I64(new long[0], new long[] {Long.MIN_VALUE + seed}));
        t.put("fc.bias", new TensorData.F32(new float[] {1.5f, -2.25f, 3}));
        t.put("empty", new TensorData.F32(new long[] {0, 4}, new float[0]));
        t.put("ids", new TensorData.I64(new long[] {2, 2}, new long[] {1, -2, 3, Long.MAX_VALUE}));
        t.put("名前", new TensorData.F32(new float[] {seed}));
        return t;
    }

    static Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("epoch", 7);
        s.put("batch", 123);
        s.put("step", 9_876_543_210L);
        s.put("seed", -6_148_914_691_236_517_205L);
        s.put("best_metric", 0.9125);
        s.put("recipe", Map.of("lr", 0.1, "schedule", "cosine", "milestones", List.of(30, 60)));
        return s;
    }

    @Test
    void roundTripKeepsEveryBitNameOrderAndState() throws IOException {
        Path file = dir.resolve("a.ckpt");
        Map<String, TensorData> written = tensors(1);
        Checkpoint.write(file, written, state());

        Checkpoint.Contents c = Checkpoint.read(file);
        assertThat(c.tensors().keySet()).containsExactlyElementsOf(written.keySet());
        for (Map.Entry<String, TensorData> e : written.entrySet()) {
            TensorData got = c.tensors().get(e.getKey());
            assertThat(got.shape()).as(e.getKey()).containsExactly(e.getValue().shape());
            switch (e.getValue()) {
                case TensorData.F32 f -> assertThat(Arrays.equals(((TensorData.F32) got).data(), f.data()))
                        .as(e.getKey()).isTrue();
                case TensorData.I64 l -> assertThat(((TensorData.I64) got).data()).containsExactly(l.data());
            }
        }
        assertThat(Float.floatToRawIntBits(c.floats("conv1.weight")[5])).isEqualTo(Float.floatToRawIntBits(-0.0f));
        assertThat(c.longs("ids")).containsExactly(1, -2, 3, Long.MAX_VALUE);
        assertThat(c.state()).containsEntry("epoch", 7).containsEntry("step", 9_876_543_210L)
                .containsEntry("seed", -6_148_914_691_236_517_205L).containsEntry("best_metric", 0.9125)
                .containsEntry("recipe", Map.of("lr", 0.1, "schedule", "cosine", "milestones", List.of(30, 60)));
        assertThat(c.state().keySet()).containsExactly("epoch", "batch", "step", "seed", "best_metric", "recipe");
        assertThatThrownBy(() -> c.floats("ids")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ids");
    }

    @Test
    void emptyCheckpointRoundTrips() throws IOException {
        Path file = dir.resolve("empty.ckpt");
        Checkpoint.write(file, Map.of(), Map.of());
        Checkpoint.Contents c = Checkpoint.read(file);
        assertThat(c.tensors()).isEmpty();
        assertThat(c.state()).isEmpty();
    }

    @Test
    void truncatedFilesAreRejected() throws IOException {
        byte[] bytes = valid();
        for (int length : new int[] {0, 5, 31, 40, 100, bytes.length / 2, bytes.length - 8, bytes.length - 1}) {
            Path file = dir.resolve("cut" + length + ".ckpt");
            Files.write(file, Arrays.copyOf(bytes, length));
            assertThatThrownBy(() -> Checkpoint.read(file)).as("cut at %d", length)
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining("truncated");
        }
    }

    @Test
    void trailingBytesAreRejected() throws IOException {
        byte[] bytes = valid();
        Path file = write("long.ckpt", Arrays.copyOf(bytes, bytes.length + 3));
        assertThatThrownBy(() -> Checkpoint.read(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("trailing bytes");
    }

    @Test
    void aFlippedByteAnywhereAfterTheHeaderIsDetected() throws IOException {
        byte[] bytes = valid();
        // In the manifest, a tensor header, tensor data, the padding, the CRC and the end marker.
        for (int at : new int[] {40, 300, 5000, bytes.length / 2, bytes.length - 9, bytes.length - 6,
                bytes.length - 1}) {
            byte[] bad = bytes.clone();
            bad[at] ^= 0x10;
            Path file = write("flip" + at + ".ckpt", bad);
            assertThatThrownBy(() -> Checkpoint.read(file)).as("flip at %d", at)
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining("corrupt");
        }
    }

    @Test
    void foreignFilesAndNewerVersionsAreRejected() throws IOException {
        byte[] bytes = valid();
        byte[] png = bytes.clone();
        png[0] = (byte) 0x89;
        Path wrongMagic = write("x.ckpt", png);
        assertThatThrownBy(() -> Checkpoint.read(wrongMagic)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a Tandem checkpoint");

        byte[] newer = bytes.clone();
        newer[8] = 2;
        Path v2 = write("v2.ckpt", newer);
        assertThatThrownBy(() -> Checkpoint.read(v2)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("version 2").hasMessageContaining("newer Tandem");
    }

    @Test
    void sizesThatLieAreRejectedEvenWithAValidCrc() throws IOException {
        // A hostile (or buggy) writer: a correct CRC over a shape that claims far more data than present.
        byte[] bytes = valid();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long manifest = b.getLong(16);
        int firstEntry = (int) (Checkpoint.HEADER_BYTES + manifest);
        int nameBytes = b.getInt(firstEntry);
        b.putLong(firstEntry + 4 + nameBytes + 4, 1L << 40);
        Path file = write("lie.ckpt", fixCrc(bytes));
        assertThatThrownBy(() -> Checkpoint.read(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("malformed").hasMessageContaining("conv1.weight");

        byte[] count = valid();
        ByteBuffer.wrap(count).order(ByteOrder.LITTLE_ENDIAN).putInt(12, -1);
        Path many = write("many.ckpt", fixCrc(count));
        assertThatThrownBy(() -> Checkpoint.read(many)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("malformed");
    }

    @Test
    void missingFileIsAnOrdinaryIoError() {
        assertThatThrownBy(() -> Checkpoint.read(dir.resolve("none.ckpt"))).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aFailedWriteKeepsTheOldCheckpoint() throws IOException {
        Path file = dir.resolve("keep.ckpt");
        Checkpoint.write(file, tensors(1), state());
        assertThatThrownBy(() -> Checkpoint.write(file, tensors(2), Map.of("bad", new Object())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON");
        assertThat(Checkpoint.read(file).floats("名前")).containsExactly(1f);
    }

    private byte[] valid() throws IOException {
        Path file = dir.resolve("valid.ckpt");
        Checkpoint.write(file, tensors(1), state());
        return Files.readAllBytes(file);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static byte[] fixCrc(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - Checkpoint.TRAILER_BYTES);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(bytes.length - Checkpoint.TRAILER_BYTES, (int) crc.getValue());
        return bytes;
    }
}
