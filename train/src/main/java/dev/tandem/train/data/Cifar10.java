package dev.tandem.train.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the CIFAR-10 binary version: {@code data_batch_1.bin} … {@code data_batch_5.bin} (training),
 * {@code test_batch.bin} (test) and {@code batches.meta.txt} (class names, one a line). Each record is one label
 * byte and 3072 pixel bytes, 32×32 red then green then blue (CHW). A batch may hold any whole number of records.
 *
 * <p>The folder may be the extracted {@code cifar-10-batches-bin} itself or the folder that contains it. Without
 * {@code batches.meta.txt} the standard ten names are used. Stateless; safe from any thread.
 */
public final class Cifar10 {
    /** The standard class names, used when {@code batches.meta.txt} is absent. */
    public static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog",
            "frog", "horse", "ship", "truck");
    static final List<String> TRAIN_FILES = List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
            "data_batch_4.bin", "data_batch_5.bin");
    static final String TEST_FILE = "test_batch.bin";
    static final String META_FILE = "batches.meta.txt";
    private static final int PIXELS = 3 * 32 * 32;
    private static final int RECORD = 1 + PIXELS;

    private Cifar10() {
    }

    /** Training and test sets of {@code dir}, with the digest of every file read. */
    public static Splits load(Path dir) {
        Path root = folder(dir);
        Map<String, String> digests = new LinkedHashMap<>();
        List<String> classes = classes(root, digests);
        ByteDataset train = read(TRAIN_FILES.stream().map(root::resolve).toList(), classes, digests);
        ByteDataset test = read(List.of(root.resolve(TEST_FILE)), classes, digests);
        return new Splits(train, test, Digests.combine(digests));
    }

    /** The folder that holds the batch files: {@code dir} or {@code dir/cifar-10-batches-bin}. */
    static Path folder(Path dir) {
        Path nested = dir.resolve("cifar-10-batches-bin");
        if (!Files.exists(dir.resolve(TEST_FILE)) && Files.isDirectory(nested)) {
            dir = nested;
        }
        List<String> missing = new ArrayList<>();
        for (String f : files()) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                missing.add(f);
            }
        }
        if (!missing.isEmpty()) {
            throw new DataException("CIFAR-10 folder " + dir + " lacks " + String.join(", ", missing)
                    + "; it needs the binary version's data_batch_1..5.bin and test_batch.bin"
                    + " (cifar-10-binary.tar.gz, extracted)");
        }
        return dir;
    }

    /** The batch files, then the meta file when {@code root} has it: what {@link #load} reads. */
    static List<Path> dataFiles(Path root) {
        List<Path> out = new ArrayList<>(files().stream().map(root::resolve).toList());
        if (Files.isRegularFile(root.resolve(META_FILE))) {
            out.add(root.resolve(META_FILE));
        }
        return out;
    }

    private static List<String> files() {
        List<String> all = new ArrayList<>(TRAIN_FILES);
        all.add(TEST_FILE);
        return all;
    }

    private static List<String> classes(Path root, Map<String, String> digests) {
        Path meta = root.resolve(META_FILE);
        if (!Files.isRegularFile(meta)) {
            return CLASSES;
        }
        byte[] bytes = readAll(meta);
        digests.put(META_FILE, Digests.hex(Digests.sha256().digest(bytes)));
        List<String> names = new String(bytes, StandardCharsets.UTF_8).lines().map(String::strip)
                .filter(s -> !s.isEmpty()).toList();
        if (names.isEmpty() || names.size() > 256) {
            throw new DataFormatException("CIFAR-10 meta file " + meta + " lists " + names.size()
                    + " class names; expected 1..256 non-blank lines");
        }
        return names;
    }

    /**
     * Reads batch files into one dataset of 3×32×32 images, recording each file's SHA-256 in {@code digests}
     * (when not null) under its file name.
     *
     * @throws DataFormatException when a file is empty, not a whole number of records, or has a label out of range
     */
    static ByteDataset read(List<Path> batches, List<String> classes, Map<String, String> digests) {
        List<byte[]> contents = new ArrayList<>();
        long records = 0;
        for (Path f : batches) {
            byte[] b = readAll(f);
            if (b.length == 0 || b.length % RECORD != 0) {
                throw new DataFormatException("CIFAR-10 batch " + f + " is " + b.length + " bytes, not a whole"
                        + " number of " + RECORD + "-byte records (1 label + 3072 pixels); truncated or not a batch");
            }
            records += b.length / RECORD;
            if (records * PIXELS > Idx.MAX_BYTES) {
                throw new DataFormatException("CIFAR-10 batches up to " + f + " hold more than the " + Idx.MAX_BYTES
                        + " pixel bytes supported");
            }
            if (digests != null) {
                digests.put(f.getFileName().toString(), Digests.hex(Digests.sha256().digest(b)));
            }
            contents.add(b);
        }
        byte[] pixels = new byte[(int) records * PIXELS];
        int[] labels = new int[(int) records];
        int r = 0;
        for (int fi = 0; fi < contents.size(); fi++) {
            byte[] b = contents.get(fi);
            for (int o = 0; o < b.length; o += RECORD, r++) {
                labels[r] = b[o] & 0xff;
                if (labels[r] >= classes.size()) {
                    throw new DataFormatException("CIFAR-10 batch " + batches.get(fi) + " has label " + labels[r]
                            + " in record " + o / RECORD + "; the " + classes.size() + " classes allow 0.."
                            + (classes.size() - 1));
                }
                System.arraycopy(b, o + 1, pixels, r * PIXELS, PIXELS);
            }
        }
        return new ByteDataset(classes, 3, 32, 32, pixels, labels);
    }

    private static byte[] readAll(Path f) {
        try {
            long size = Files.size(f);
            if (size > Idx.MAX_BYTES) {
                throw new DataFormatException("CIFAR-10 file " + f + " is " + size + " bytes, too large for a batch");
            }
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new DataException("Cannot read CIFAR-10 file " + f + ": " + e.getMessage(), e);
        }
    }
}
