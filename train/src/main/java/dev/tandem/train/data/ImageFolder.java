package dev.tandem.train.data;

import dev.tandem.runtime.classify.ImageSpec;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * A dataset of image files laid out one folder per class: {@code DIR/<class>/*.{jpg,jpeg,png,bmp}} (extensions in
 * any case; other files and hidden folders are ignored). Classes are the folder names in {@link String} order.
 *
 * <p>{@link #load} finds the training and validation sets: {@code DIR/train} and {@code DIR/val} (or
 * {@code DIR/test}) when they exist, otherwise one folder ({@code DIR/train} or {@code DIR}) split per class by
 * {@link Options#valFraction()} with {@link Options#seed()}. An empty class folder, or a validation class the
 * training set lacks, is a {@link DataException} naming the folder.
 *
 * <p>Every image is decoded once while loading (on {@link Options#threads()} threads), converted to grey or RGB and
 * stretched to {@code height × width} with the runtime's {@link ImageSpec} (so training sees the pixels inference
 * will see with {@code tandem.input.resize = stretch}), then rounded to 8 bits as a PIL image would be. Unreadable
 * images are skipped and listed in {@link #skipped()}, or, with {@link Options#strict()}, fail the load with a
 * {@link DataFormatException} naming the file. The 8-bit samples are kept in memory when they fit
 * {@link Options#cacheBytes()}; otherwise {@link #read} decodes the file again each time.
 *
 * <p>Immutable once loaded; {@link #read} and {@link #label} are safe from several threads.
 */
public final class ImageFolder implements Dataset {
    /** File extensions read, lower case. */
    public static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp");

    /**
     * How image folders are read.
     *
     * @param height      sample height (1..4096)
     * @param width       sample width (1..4096)
     * @param channels    1 (grey) or 3 (RGB)
     * @param valFraction share of each class held out for validation when there is no {@code val} folder, [0, 1)
     * @param seed        seed of that split
     * @param strict      fail on the first unreadable image instead of skipping it
     * @param threads     decoding threads while loading (at least 1)
     * @param cacheBytes  most bytes of decoded samples kept in memory; above it samples are decoded on every read
     */
    public record Options(int height, int width, int channels, double valFraction, long seed, boolean strict,
                          int threads, long cacheBytes) {
        public Options {
            if (height < 1 || height > 4096 || width < 1 || width > 4096) {
                throw new IllegalArgumentException("Image size " + height + "x" + width + " must be 1..4096 each");
            }
            if (channels != 1 && channels != 3) {
                throw new IllegalArgumentException("Channels must be 1 (grey) or 3 (RGB), not " + channels);
            }
            if (!(valFraction >= 0 && valFraction < 1)) {
                throw new IllegalArgumentException("Validation fraction " + valFraction + " must be in [0, 1)");
            }
            if (threads < 1 || cacheBytes < 0) {
                throw new IllegalArgumentException("threads must be >= 1 and cacheBytes >= 0");
            }
        }

        /** {@code height × width × channels}, 20% validation split with seed 0, lenient, a thread per core, 1 GiB. */
        public static Options of(int height, int width, int channels) {
            return new Options(height, width, channels, 0.2, 0, false, Runtime.getRuntime().availableProcessors(),
                    1L << 30);
        }

        public Options withValFraction(double f) {
            return new Options(height, width, channels, f, seed, strict, threads, cacheBytes);
        }

        public Options withSeed(long s) {
            return new Options(height, width, channels, valFraction, s, strict, threads, cacheBytes);
        }

        public Options withStrict(boolean s) {
            return new Options(height, width, channels, valFraction, seed, s, threads, cacheBytes);
        }

        public Options withThreads(int t) {
            return new Options(height, width, channels, valFraction, seed, strict, t, cacheBytes);
        }

        public Options withCacheBytes(long b) {
            return new Options(height, width, channels, valFraction, seed, strict, threads, b);
        }
    }

    /** An image left out because it could not be decoded, and why. */
    public record Skipped(Path file, String reason) {
    }

    private final List<String> classes;
    private final List<Path> files;
    private final int[] labels;
    private final byte[][] cache;
    private final ImageSpec spec;
    private final List<Skipped> skipped;

    private ImageFolder(List<String> classes, List<Path> files, int[] labels, byte[][] cache, ImageSpec spec,
                        List<Skipped> skipped) {
        this.classes = classes;
        this.files = files;
        this.labels = labels;
        this.cache = cache;
        this.spec = spec;
        this.skipped = skipped;
    }

    /**
     * The training and validation sets under {@code dir} (see the class comment), with the digest of every image
     * file found (skipped ones included), named relative to {@code dir}.
     */
    public static Splits load(Path dir, Options options) {
        Layout layout = layout(dir, options);
        ImageSpec spec = new ImageSpec(options.height, options.width, options.channels, "NCHW",
                options.channels == 1 ? "GRAY" : "RGB", 1.0, new double[options.channels],
                ones(options.channels), "stretch");
        Map<String, String> digests = new TreeMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(options.threads, r -> {
            Thread t = new Thread(r, "tandem-image-decode");
            t.setDaemon(true);
            return t;
        });
        try {
            ImageFolder train = decodeAll(dir, layout.classes, layout.train, spec, options, pool, digests);
            for (int c = 0; c < layout.classes.size(); c++) {
                if (count(train.labels, c) == 0) {
                    throw new DataException("Class folder " + layout.train.get(c).getFirst().getParent()
                            + " has no readable image (" + layout.train.get(c).size() + " skipped)");
                }
            }
            ImageFolder val = decodeAll(dir, layout.classes, layout.val, spec, options, pool, digests);
            return new Splits(train, val, Digests.combine(digests));
        } finally {
            pool.shutdownNow();
        }
    }

    /** Every image file under {@code dir} that {@link #load} reads, in a stable order. */
    static List<Path> files(Path dir, Options options) {
        Layout layout = layout(dir, options);
        List<Path> out = new ArrayList<>();
        Stream.concat(layout.train.stream(), layout.val.stream()).forEach(out::addAll);
        return out;
    }

    /** Class names and, per class, the training and validation files. */
    private record Layout(List<String> classes, List<List<Path>> train, List<List<Path>> val) {
    }

    private static Layout layout(Path dir, Options options) {
        if (!Files.isDirectory(dir)) {
            throw new DataException("Image folder " + dir + (Files.exists(dir) ? " is not a folder" : " does not exist"));
        }
        Path trainDir = Files.isDirectory(dir.resolve("train")) ? dir.resolve("train") : dir;
        Path valDir = null;
        if (trainDir != dir) {
            for (String name : List.of("val", "test")) {
                if (Files.isDirectory(dir.resolve(name))) {
                    valDir = dir.resolve(name);
                    break;
                }
            }
        }
        Map<String, List<Path>> train = scan(trainDir);
        if (train.isEmpty()) {
            throw new DataException("Image folder " + trainDir + " has no class folders; expected " + trainDir
                    + "/<class>/*.{jpg,jpeg,png,bmp}");
        }
        List<String> classes = List.copyOf(train.keySet());
        List<List<Path>> trainFiles = new ArrayList<>();
        List<List<Path>> valFiles = new ArrayList<>();
        if (valDir != null) {
            Map<String, List<Path>> val = scan(valDir);
            for (String c : val.keySet()) {
                if (!train.containsKey(c)) {
                    throw new DataException("Validation class folder " + valDir.resolve(c) + " has no training"
                            + " counterpart in " + trainDir + " (training classes: " + classes + ")");
                }
            }
            for (String c : classes) {
                trainFiles.add(train.get(c));
                valFiles.add(val.getOrDefault(c, List.of()));
            }
        } else {
            for (int ci = 0; ci < classes.size(); ci++) {
                List<Path> all = new ArrayList<>(train.get(classes.get(ci)));
                Collections.shuffle(all, new java.util.Random(Seeds.of(options.seed, ci)));
                int nVal = Math.min(all.size() - 1, (int) Math.round(all.size() * options.valFraction));
                List<Path> v = new ArrayList<>(all.subList(0, nVal));
                List<Path> t = new ArrayList<>(all.subList(nVal, all.size()));
                Collections.sort(v);
                Collections.sort(t);
                trainFiles.add(t);
                valFiles.add(v);
            }
        }
        return new Layout(classes, trainFiles, valFiles);
    }

    /** Class folder name → its image files, both sorted; an empty class folder is an error. */
    private static Map<String, List<Path>> scan(Path dir) {
        Map<String, List<Path>> out = new TreeMap<>();
        for (Path sub : list(dir)) {
            String name = sub.getFileName().toString();
            if (!Files.isDirectory(sub) || name.startsWith(".")) {
                continue;
            }
            List<Path> images = list(sub).stream().filter(p -> Files.isRegularFile(p) && isImage(p)).toList();
            if (images.isEmpty()) {
                throw new DataException("Class folder " + sub + " has no images (*.jpg, *.jpeg, *.png, *.bmp);"
                        + " add some or remove the folder");
            }
            out.put(name, images);
        }
        return out;
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new DataException("Cannot list image folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Result of decoding one file while loading. */
    private record Decoded(byte[] sample, String digest, String error) {
    }

    private static ImageFolder decodeAll(Path root, List<String> classes, List<List<Path>> perClass, ImageSpec spec,
                                         Options options, ExecutorService pool, Map<String, String> digests) {
        List<Path> all = new ArrayList<>();
        List<Integer> allLabels = new ArrayList<>();
        for (int c = 0; c < perClass.size(); c++) {
            for (Path f : perClass.get(c)) {
                all.add(f);
                allLabels.add(c);
            }
        }
        boolean keep = (long) all.size() * spec.imageSize() <= options.cacheBytes;
        List<Future<Decoded>> futures = new ArrayList<>();
        for (Path f : all) {
            futures.add(pool.submit(() -> decodeForLoad(f, spec, keep)));
        }
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<byte[]> samples = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            Decoded d = join(futures.get(i));
            digests.put(Digests.name(root, all.get(i)), d.digest);
            if (d.error != null) {
                if (options.strict) {
                    futures.forEach(f -> f.cancel(false));
                    throw new DataFormatException("Cannot decode image " + all.get(i) + ": " + d.error
                            + " (without strict mode such images are skipped)");
                }
                skipped.add(new Skipped(all.get(i), d.error));
                continue;
            }
            files.add(all.get(i));
            labels.add(allLabels.get(i));
            samples.add(d.sample);
        }
        return new ImageFolder(classes, List.copyOf(files), labels.stream().mapToInt(Integer::intValue).toArray(),
                keep ? samples.toArray(new byte[0][]) : null, spec, List.copyOf(skipped));
    }

    private static Decoded decodeForLoad(Path file, ImageSpec spec, boolean keep) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DataException("Cannot read image " + file + ": " + e.getMessage(), e);
        }
        String digest = Digests.hex(Digests.sha256().digest(bytes));
        try {
            byte[] sample = decode(bytes, spec);
            return new Decoded(keep ? sample : null, digest, null);
        } catch (DataFormatException e) {
            return new Decoded(null, digest, e.getMessage());
        }
    }

    private static <T> T join(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataException("Interrupted while decoding images", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new DataException("Decoding images failed: " + e.getCause(), e.getCause());
        }
    }

    /** Decodes an encoded image to {@code spec}'s CHW shape, 8 bits a value. */
    static byte[] decode(byte[] bytes, ImageSpec spec) {
        BufferedImage img;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new DataFormatException("no image decoder recognises its bytes");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > ImageSpec.MAX_PIXELS) {
                    throw new DataFormatException(reader.getWidth(0) + "x" + reader.getHeight(0)
                            + " pixels, more than the " + ImageSpec.MAX_PIXELS + " accepted");
                }
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (DataFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO's decoders throw IIOException, but also IllegalArgumentException and friends on bad bytes.
            throw new DataFormatException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
        float[] f = new float[spec.imageSize()];
        spec.apply(img, f, 0);
        byte[] out = new byte[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = (byte) Math.clamp(Math.round(f[i]), 0, 255);
        }
        return out;
    }

    private static double[] ones(int n) {
        double[] d = new double[n];
        java.util.Arrays.fill(d, 1);
        return d;
    }

    private static int count(int[] labels, int c) {
        int n = 0;
        for (int l : labels) {
            n += l == c ? 1 : 0;
        }
        return n;
    }

    /** The images left out as unreadable, in file order. */
    public List<Skipped> skipped() {
        return skipped;
    }

    /** The file each sample was decoded from. */
    public Path file(int index) {
        return files.get(index);
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public int channels() {
        return spec.channels();
    }

    @Override
    public int height() {
        return spec.height();
    }

    @Override
    public int width() {
        return spec.width();
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public void read(int index, float[] dst, int off) {
        Objects.checkIndex(index, labels.length);
        Objects.checkFromIndexSize(off, sampleSize(), dst.length);
        byte[] sample;
        if (cache != null) {
            sample = cache[index];
        } else {
            Path f = files.get(index);
            try {
                sample = decode(Files.readAllBytes(f), spec);
            } catch (IOException e) {
                throw new DataException("Cannot read image " + f + ": " + e.getMessage(), e);
            } catch (DataFormatException e) {
                throw new DataFormatException("Cannot decode image " + f + " (it decoded when loading): "
                        + e.getMessage(), e);
            }
        }
        for (int k = 0; k < sample.length; k++) {
            dst[off + k] = (sample[k] & 0xff) / 255f;
        }
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public String toString() {
        return "ImageFolder[" + size() + " x " + channels() + "x" + height() + "x" + width() + ", " + classes.size()
                + " classes, " + skipped.size() + " skipped]";
    }
}
