package dev.tandem.train.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A data source named in one string, {@code KIND:DIR}:
 * <ul>
 *   <li>{@code fashion-mnist:DIR}, {@code mnist:DIR}: the four IDX files {@code train-images-idx3-ubyte},
 *       {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte}, each
 *       gzipped ({@code .gz}, preferred when both exist) or plain — {@code /usr/share/datasets/fashion-mnist} on
 *       Debian; 1×28×28;</li>
 *   <li>{@code cifar10:DIR}: the CIFAR-10 binary batches ({@link Cifar10}); 3×32×32;</li>
 *   <li>{@code folder:DIR}: one sub-folder per class ({@link ImageFolder}), shape from its options.</li>
 * </ul>
 * {@link #load} gives the training set and the test (or validation) set; {@link #sha256()} the provenance of the
 * files behind them. Immutable and thread-safe.
 *
 * @param kind the format
 * @param dir  the folder holding the data
 */
public record DataSpec(Kind kind, Path dir) {
    /** Class names of Fashion-MNIST, in label order. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Class names of MNIST, in label order. */
    public static final List<String> MNIST_CLASSES = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    /** The IDX files of MNIST and Fashion-MNIST without their optional {@code .gz}: train images, train labels,
     *  test images, test labels. */
    public static final List<String> IDX_FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /** The data formats, with the name a spec uses. */
    public enum Kind {
        FASHION_MNIST("fashion-mnist"), MNIST("mnist"), CIFAR10("cifar10"), FOLDER("folder");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** The name in a spec string, e.g. {@code fashion-mnist}. */
        public String label() {
            return label;
        }
    }

    public DataSpec {
        if (kind == null || dir == null) {
            throw new IllegalArgumentException("A data spec needs a kind and a folder");
        }
    }

    /**
     * Parses {@code KIND:DIR}. Only the syntax is checked here; {@link #load} checks the folder and its files.
     *
     * @throws DataException for a missing colon, an unknown kind or an empty folder
     */
    public static DataSpec parse(String spec) {
        int colon = spec.indexOf(':');
        String kinds = Arrays.stream(Kind.values()).map(k -> k.label + ":DIR").collect(Collectors.joining(", "));
        if (colon < 0 || colon == spec.length() - 1) {
            throw new DataException("Data spec '" + spec + "' must be KIND:DIR, one of " + kinds);
        }
        String name = spec.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        for (Kind k : Kind.values()) {
            if (k.label.equals(name)) {
                return new DataSpec(k, Path.of(spec.substring(colon + 1)));
            }
        }
        throw new DataException("Unknown data kind '" + spec.substring(0, colon) + "' in '" + spec
                + "'; expected one of " + kinds);
    }

    /** Loads the training and test sets; a folder dataset with {@link ImageFolder.Options#of} 32×32 RGB. */
    public Splits load() {
        return load(ImageFolder.Options.of(32, 32, 3));
    }

    /**
     * Loads the training and test (or validation) sets.
     *
     * @param folderOptions how a {@code folder:} source is read (ignored by the other kinds)
     * @throws DataException       when the folder or a file is missing
     * @throws DataFormatException when a file is malformed
     */
    public Splits load(ImageFolder.Options folderOptions) {
        checkDir();
        return switch (kind) {
            case FASHION_MNIST, MNIST -> {
                List<Path> f = idxFiles();
                Map<String, String> digests = new LinkedHashMap<>();
                List<String> classes = kind == Kind.MNIST ? MNIST_CLASSES : FASHION_MNIST_CLASSES;
                yield new Splits(idx(f.get(0), f.get(1), classes, digests), idx(f.get(2), f.get(3), classes, digests),
                        Digests.combine(digests));
            }
            case CIFAR10 -> Cifar10.load(dir);
            case FOLDER -> ImageFolder.load(dir, folderOptions);
        };
    }

    /** The files {@link #load} reads, in a stable order. */
    public List<Path> files() {
        checkDir();
        return switch (kind) {
            case FASHION_MNIST, MNIST -> idxFiles();
            case CIFAR10 -> Cifar10.dataFiles(Cifar10.folder(dir));
            case FOLDER -> ImageFolder.files(dir, ImageFolder.Options.of(1, 1, 1));
        };
    }

    /**
     * The provenance of this data: the SHA-256 of the {@code sha256sum} lines of {@link #files()} sorted by name
     * (names relative to {@link #dir()}, {@code /} separators), as hex. Equal to {@link Splits#sha256()} of
     * {@link #load}; reproducible with {@code cd DIR && sha256sum FILES | sha256sum}, files in that order.
     */
    public String sha256() {
        Path root = kind == Kind.CIFAR10 ? Cifar10.folder(dir) : dir;
        Map<String, String> digests = new LinkedHashMap<>();
        for (Path f : files()) {
            digests.put(Digests.name(root, f), Digests.ofFile(f));
        }
        return Digests.combine(digests);
    }

    @Override
    public String toString() {
        return kind.label + ":" + dir;
    }

    private void checkDir() {
        if (!Files.isDirectory(dir)) {
            throw new DataException("Data folder " + dir + " (from '" + this + "') "
                    + (Files.exists(dir) ? "is not a folder" : "does not exist"));
        }
    }

    private List<Path> idxFiles() {
        List<Path> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String base : IDX_FILES) {
            Path gz = dir.resolve(base + ".gz");
            Path plain = dir.resolve(base);
            if (Files.isRegularFile(gz)) {
                out.add(gz);
            } else if (Files.isRegularFile(plain)) {
                out.add(plain);
            } else {
                missing.add(base + "[.gz]");
            }
        }
        if (!missing.isEmpty()) {
            throw new DataException(kind.label + " folder " + dir + " lacks " + String.join(", ", missing)
                    + (kind == Kind.FASHION_MNIST ? "; on Debian: apt install dataset-fashion-mnist and use "
                    + "fashion-mnist:/usr/share/datasets/fashion-mnist" : ""));
        }
        return out;
    }

    private static ByteDataset idx(Path images, Path labels, List<String> classes, Map<String, String> digests) {
        Idx.Images img = Idx.read(images, in -> Idx.readImages(images.toString(), in), digests);
        byte[] lab = Idx.read(labels, in -> Idx.readLabels(labels.toString(), in), digests);
        return Idx.dataset(img, images.toString(), lab, labels.toString(), classes);
    }
}
