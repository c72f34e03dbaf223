package dev.tandem.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The data of {@code tandem quickstart}: Fashion-MNIST, in full when the Debian package
 * {@code dataset-fashion-mnist} is installed ({@value #DEBIAN_FOLDER}), otherwise the subset bundled in this jar
 * (the first 500 training and the first 100 test images of each class, 5000 and 1000 in all, in their original
 * order; made by {@code scripts/make-quickstart-data.py}; MIT licence, see {@code LICENSE-fashion-mnist.txt} beside
 * it). Stateless.
 */
public final class Quickstart {
    /** Where Debian's {@code dataset-fashion-mnist} installs the four IDX files. */
    public static final String DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist";
    static final String RESOURCES = "/dev/tandem/train/quickstart/";

    private Quickstart() {
    }

    /** The full Fashion-MNIST from {@value #DEBIAN_FOLDER} when its four files are there, else {@link #subset()}. */
    public static Splits data() {
        return data(Path.of(DEBIAN_FOLDER));
    }

    /** The full Fashion-MNIST from {@code folder} when its four files are there, else {@link #subset()}. */
    public static Splits data(Path folder) {
        boolean full = DataSpec.IDX_FILES.stream()
                .allMatch(f -> Files.isRegularFile(folder.resolve(f + ".gz")) || Files.isRegularFile(folder.resolve(f)));
        return full ? new DataSpec(DataSpec.Kind.FASHION_MNIST, folder).load() : subset();
    }

    /** The bundled subset: 5000 training and 1000 test images, 500 and 100 of each class. */
    public static Splits subset() {
        List<String> f = DataSpec.IDX_FILES;
        Map<String, String> digests = new LinkedHashMap<>();
        Idx.Images trainImages = resource(f.get(0), Idx::readImages, digests);
        byte[] trainLabels = resource(f.get(1), Idx::readLabels, digests);
        Idx.Images testImages = resource(f.get(2), Idx::readImages, digests);
        byte[] testLabels = resource(f.get(3), Idx::readLabels, digests);
        List<String> classes = DataSpec.FASHION_MNIST_CLASSES;
        return new Splits(Idx.dataset(trainImages, f.get(0), trainLabels, f.get(1), classes),
                Idx.dataset(testImages, f.get(2), testLabels, f.get(3), classes), Digests.combine(digests));
    }

    private interface NamedReader<T> {
        T read(String name, InputStream in) throws IOException;
    }

    private static <T> T resource(String base, NamedReader<T> reader, Map<String, String> digests) {
        String name = base + ".gz";
        try (InputStream in = Quickstart.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new DataException("The quickstart data " + RESOURCES + name + " is missing from the classpath;"
                        + " scripts/make-quickstart-data.py makes it");
            }
            return Idx.read(name, in, s -> reader.read(name, s), digests);
        } catch (IOException e) {
            throw new DataException("Cannot read the quickstart data " + RESOURCES + name + ": " + e.getMessage(), e);
        }
    }
}
