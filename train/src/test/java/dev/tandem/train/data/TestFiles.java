package dev.tandem.train.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/** Small data files for tests, written from scratch. */
final class TestFiles {
    private TestFiles() {
    }

    /** An IDX images file's bytes: n images of rows × cols, pixel (i, k) = (i * 7 + k) mod 256. */
    static byte[] idxImages(int n, int rows, int cols) {
        ByteBuffer b = ByteBuffer.allocate(16 + n * rows * cols);
        b.putInt(0x803).putInt(n).putInt(rows).putInt(cols);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < rows * cols; k++) {
                b.put((byte) (i * 7 + k));
            }
        }
        return b.array();
    }

    /** An IDX labels file's bytes. */
    static byte[] idxLabels(int... labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x801).putInt(labels.length);
        for (int l : labels) {
            b.put((byte) l);
        }
        return b.array();
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static Path write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A CIFAR-10 batch: record r has label labels[r] and pixel k = (base + r * 3 + k) mod 256. */
    static byte[] cifarBatch(int base, int... labels) {
        byte[] b = new byte[labels.length * 3073];
        for (int r = 0; r < labels.length; r++) {
            b[r * 3073] = (byte) labels[r];
            for (int k = 0; k < 3072; k++) {
                b[r * 3073 + 1 + k] = (byte) (base + r * 3 + k);
            }
        }
        return b;
    }

    /** A CIFAR-10 folder: five training batches of 3 records (labels 0..9 cycling), a test batch of 2. */
    static Path cifarFolder(Path dir, boolean meta) {
        for (int i = 1; i <= 5; i++) {
            int l = (i - 1) * 3;
            write(dir.resolve("data_batch_" + i + ".bin"), cifarBatch(i * 10, l % 10, (l + 1) % 10, (l + 2) % 10));
        }
        write(dir.resolve("test_batch.bin"), cifarBatch(100, 3, 8));
        if (meta) {
            write(dir.resolve("batches.meta.txt"), String.join("\n", Cifar10.CLASSES.stream()
                    .map(s -> s.toUpperCase(java.util.Locale.ROOT)).toList()).concat("\n\n").getBytes());
        }
        return dir;
    }

    /** Writes a w × h image of one colour (0xRRGGBB) in the format of the file's extension. */
    static Path image(Path file, int w, int h, int rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        String name = file.getFileName().toString();
        String format = name.substring(name.lastIndexOf('.') + 1).toLowerCase(java.util.Locale.ROOT);
        try {
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(img, format.equals("jpg") ? "jpeg" : format, file.toFile())) {
                throw new IllegalStateException("no writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** An in-memory dataset of n random 2×5×4 samples with labels i mod 3. */
    static ByteDataset random(int n, long seed) {
        Random r = new Random(seed);
        byte[] px = new byte[n * 40];
        r.nextBytes(px);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
        }
        return new ByteDataset(List.of("a", "b", "c"), 2, 5, 4, px, labels);
    }
}
