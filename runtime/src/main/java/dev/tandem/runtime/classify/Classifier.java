package dev.tandem.runtime.classify;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Classifies images with an ONNX image classifier: decode, preprocess as the model's metadata says
 * ({@link ImageSpec}, contract in {@code docs/model-metadata.md}), run, softmax, top-k with labels.
 *
 * <pre>{@code
 * try (Classifier c = Classifier.load(Path.of("fashionnet.onnx"))) {
 *     List<Prediction> top = c.classify(Path.of("shoe.png"));
 * }
 * }</pre>
 *
 * <p>The model takes one float32 image batch input ({@code [N,C,H,W]} or {@code [N,H,W,C]}) and its first output
 * holds one score per class: {@code [N,K]}, or {@code [N,K,1,1]} and the like (dimensions of 1 after the batch
 * are dropped). Scores are treated as probabilities when the metadata key {@code tandem.output} says
 * {@code probabilities}, as logits (softmax applied) when it says {@code logits}, and otherwise as probabilities
 * exactly when every row lies in [0, 1] and sums to 1 (within 1e-3).
 *
 * <p><b>Threads.</b> A classifier is immutable after loading and safe for concurrent use: runs go to the
 * thread-safe {@link Model}. {@link #close()} must not race with classifications.
 */
public final class Classifier implements AutoCloseable {
    /** Metadata key: a JSON array of strings, one label per class in output order. */
    public static final String LABELS = "tandem.labels";
    /** Metadata key: "logits" or "probabilities" (absent: decided per row, see the class comment). */
    public static final String OUTPUT = "tandem.output";
    /** Whether this runtime has {@code java.desktop}; without it {@link AwtImages} must not even be loaded. */
    private static final boolean HAS_IMAGE_IO = ModuleLayer.boot().findModule("java.desktop").isPresent();
    /** Images per run when the model's batch dimension is symbolic. */
    private static final int MAX_BATCH = 32;

    /**
     * Classifier options.
     *
     * @param labels     labels overriding the model's (null: none given)
     * @param labelsFile a file of labels, one per line or a JSON array of strings (null: none given)
     * @param topK       how many classes each result holds (clipped to the class count)
     * @param threads    intra-op threads (0: all processors)
     * @param maxMemory  the model's memory budget in bytes, 0 for none ({@link Model.Options#maxMemory()}); checked
     *                   for each batch size the classifier runs
     */
    public record Options(List<String> labels, Path labelsFile, int topK, int threads, long maxMemory) {
        public Options {
            if (topK < 1) {
                throw new IllegalArgumentException("top-k must be >= 1; got " + topK);
            }
            if (threads < 0) {
                throw new IllegalArgumentException("threads must be >= 0; got " + threads);
            }
            if (maxMemory < 0) {
                throw new IllegalArgumentException("maxMemory must be >= 0 bytes (0: no budget); got " + maxMemory);
            }
            labels = labels == null ? null : List.copyOf(labels);
        }

        public Options(List<String> labels, Path labelsFile, int topK, int threads) {
            this(labels, labelsFile, topK, threads, 0);
        }

        public static Options defaults() {
            return new Options(null, null, 5, 0, 0);
        }

        public Options withLabels(List<String> l) {
            return new Options(l, labelsFile, topK, threads, maxMemory);
        }

        public Options withLabelsFile(Path f) {
            return new Options(labels, f, topK, threads, maxMemory);
        }

        public Options withTopK(int k) {
            return new Options(labels, labelsFile, k, threads, maxMemory);
        }

        public Options withThreads(int t) {
            return new Options(labels, labelsFile, topK, t, maxMemory);
        }

        /** A memory budget in bytes for the model (0: none). */
        public Options withMaxMemory(long bytes) {
            return new Options(labels, labelsFile, topK, threads, bytes);
        }
    }

    private final Model model;
    private final boolean ownsModel;
    private final ImageSpec spec;
    private final List<String> labels;
    private final String outputKind;
    private final int topK;
    private final String inputName;
    private final long declaredBatch;
    /** The largest fixed batch dimension a classifier model may declare. */
    static final int MAX_FIXED_BATCH = 1024;

    private Classifier(Model model, boolean ownsModel, Options o) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.spec = ImageSpec.of(model);
        this.topK = o.topK();
        this.inputName = model.inputs().getFirst().name();
        TensorType t = model.inputs().getFirst().type();
        this.declaredBatch = t == null || t.dims() == null ? -1 : t.dims()[0];
        if (declaredBatch > MAX_FIXED_BATCH || (long) spec.imageSize() * Math.max(32, declaredBatch) > (1L << 30)) {
            throw new dev.tandem.runtime.UnsupportedModelException("The model's input " + t.describe()
                    + " takes batches of " + declaredBatch + " images of " + spec.imageSize()
                    + " values; the classifier supports fixed batches up to " + MAX_FIXED_BATCH
                    + " and at most 2^30 input values per batch");
        }
        String kind = model.metadata().get(OUTPUT);
        if (kind != null) {
            kind = kind.strip().toLowerCase(Locale.ROOT);
            if (!kind.equals("logits") && !kind.equals("probabilities")) {
                throw new ModelFormatException("Model metadata " + OUTPUT + " = '" + model.metadata().get(OUTPUT)
                        + "' is invalid; expected logits or probabilities");
            }
        }
        this.outputKind = kind;
        if (o.labels() != null) {
            this.labels = o.labels();
        } else if (o.labelsFile() != null) {
            this.labels = readLabels(o.labelsFile());
        } else if (model.metadata().containsKey(LABELS)) {
            try {
                this.labels = List.copyOf(Json.stringArray(model.metadata().get(LABELS)));
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException("Model metadata " + LABELS + " is not a JSON array of strings: "
                        + e.getMessage());
            }
        } else {
            this.labels = null;
        }
        Integer k = declaredClasses();
        if (labels != null && k != null && labels.size() != k) {
            throw new ModelFormatException(labelSource(o) + " has " + labels.size() + " labels but the model's output '"
                    + model.outputs().getFirst().name() + "' has " + k + " classes");
        }
    }

    /** Loads a classifier model file with default options. */
    public static Classifier load(Path modelFile) {
        return load(modelFile, Options.defaults());
    }

    /**
     * Loads a classifier model file.
     *
     * @throws dev.tandem.runtime.ModelException when the model cannot be loaded or is not an image classifier
     * @throws UncheckedIOException              when the labels file cannot be read
     */
    public static Classifier load(Path modelFile, Options options) {
        Model m = Model.load(modelFile, Model.Options.defaults().withThreads(options.threads())
                .withMaxMemory(options.maxMemory()));
        try {
            return new Classifier(m, true, options);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** A classifier over a model the caller keeps owning (and closes after this classifier). */
    public static Classifier wrap(Model model, Options options) {
        return new Classifier(model, false, options);
    }

    /** The model run. */
    public Model model() {
        return model;
    }

    /** The preprocessing applied to every image. */
    public ImageSpec imageSpec() {
        return spec;
    }

    /** The labels in class order, or null when neither the options nor the model give any. */
    public List<String> labels() {
        return labels;
    }

    // ---- classification

    /** Classifies one image: the top-k classes, most probable first. */
    public List<Prediction> classify(BufferedImage image) {
        return classifyAll(List.of(image)).getFirst();
    }

    /** Classifies one decoded image: the top-k classes, most probable first. */
    public List<Prediction> classify(RgbImage image) {
        return classifyPixels(List.of(image)).getFirst();
    }

    /**
     * Reads and classifies one image file: PNG, JPEG, BMP, GIF (what ImageIO decodes); PNG only on a runtime
     * without {@code java.desktop}, such as a {@code tandem package} bundle.
     *
     * @throws ImageDecodeException naming the file when it is missing or not a decodable image
     */
    public List<Prediction> classify(Path imageFile) {
        return classify(readPixels(imageFile));
    }

    /** Decodes and classifies image bytes (formats as for {@link #classify(Path)}). */
    public List<Prediction> classify(byte[] encoded) {
        return classify(decode(encoded, "The image bytes"));
    }

    /** Reads and classifies image files in batches; results in the same order. */
    public List<List<Prediction>> classifyFiles(List<Path> files) {
        List<RgbImage> images = new ArrayList<>(files.size());
        for (Path f : files) {
            images.add(readPixels(f));
        }
        return classifyPixels(images);
    }

    /** Classifies images, run in batches as the model's batch dimension allows; results in the same order. */
    public List<List<Prediction>> classifyAll(List<BufferedImage> images) {
        List<RgbImage> pixels = new ArrayList<>(images.size());
        for (BufferedImage img : images) {
            pixels.add(AwtImages.toRgb(img));
        }
        return classifyPixels(pixels);
    }

    /** Classifies decoded images, run in batches as the model's batch dimension allows; results in the same order. */
    public List<List<Prediction>> classifyPixels(List<RgbImage> images) {
        int per = declaredBatch > 0 ? (int) declaredBatch : MAX_BATCH;
        List<List<Prediction>> out = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += per) {
            List<RgbImage> chunk = images.subList(start, Math.min(images.size(), start + per));
            int batch = declaredBatch > 0 ? (int) declaredBatch : chunk.size();
            out.addAll(runBatch(chunk, batch));
        }
        return out;
    }

    private List<List<Prediction>> runBatch(List<RgbImage> images, int batch) {
        int size = spec.imageSize();
        float[] data = new float[Math.multiplyExact(batch, size)];
        for (int i = 0; i < images.size(); i++) {
            spec.apply(images.get(i), data, i * size);
        }
        Shape shape = spec.layout().equals("NCHW") ? Shape.of(batch, spec.channels(), spec.height(), spec.width())
                : Shape.of(batch, spec.height(), spec.width(), spec.channels());
        Map<String, Tensor> outputs;
        try (Tensor in = Tensor.ofFloats(shape, data)) {
            outputs = model.run(Map.of(inputName, in));
        }
        try {
            Tensor scores = outputs.values().iterator().next();
            return interpret(scores, batch, images.size());
        } finally {
            outputs.values().forEach(Tensor::close);
        }
    }

    private List<List<Prediction>> interpret(Tensor scores, int batch, int used) {
        if (!scores.dtype().isFloatingPoint()) {
            throw new UnsupportedModelException("The classifier's output '" + model.outputs().getFirst().name()
                    + "' is " + scores.dtype() + scores.shape() + "; class scores must be floating-point");
        }
        int k = classesOf(scores.shape(), batch);
        if (labels != null && labels.size() != k) {
            throw new ModelFormatException("The labels have " + labels.size() + " entries but the model's output has "
                    + k + " classes");
        }
        List<List<Prediction>> out = new ArrayList<>(used);
        double[] row = new double[k];
        for (int n = 0; n < used; n++) {
            for (int c = 0; c < k; c++) {
                row[c] = Elements.getDouble(scores, (long) n * k + c);
            }
            double[] p = probabilities(row);
            Integer[] order = new Integer[k];
            for (int c = 0; c < k; c++) {
                order[c] = c;
            }
            Arrays.sort(order, Comparator.comparingDouble((Integer c) -> -p[c]).thenComparingInt(c -> c));
            List<Prediction> top = new ArrayList<>();
            for (int i = 0; i < Math.min(topK, k); i++) {
                int c = order[i];
                top.add(new Prediction(labels != null ? labels.get(c) : Integer.toString(c), c, p[c]));
            }
            out.add(List.copyOf(top));
        }
        return out;
    }

    /** Classes per image of an output shape [N, ...] whose non-batch dimensions are all 1 but at most one. */
    private int classesOf(Shape s, int batch) {
        if (s.rank() == 1 && batch == 1) {
            return s.dim(0);
        }
        if (s.rank() < 2 || s.dim(0) != batch) {
            throw new UnsupportedModelException("The classifier's output '" + model.outputs().getFirst().name()
                    + "' has shape " + s + "; expected [" + batch + ", classes] (dimensions of 1 may follow)");
        }
        int k = 1;
        int big = 0;
        for (int i = 1; i < s.rank(); i++) {
            k *= s.dim(i);
            if (s.dim(i) != 1) {
                big++;
            }
        }
        if (big > 1 || k == 0) {
            throw new UnsupportedModelException("The classifier's output '" + model.outputs().getFirst().name()
                    + "' has shape " + s + "; expected [" + batch + ", classes] (dimensions of 1 may follow)");
        }
        return k;
    }

    private double[] probabilities(double[] row) {
        boolean probs;
        if (outputKind != null) {
            probs = outputKind.equals("probabilities");
        } else {
            double sum = 0;
            probs = true;
            for (double v : row) {
                if (!(v >= 0 && v <= 1)) {
                    probs = false;
                }
                sum += v;
            }
            probs &= Math.abs(sum - 1) <= 1e-3;
        }
        double[] p = new double[row.length];
        if (probs) {
            System.arraycopy(row, 0, p, 0, row.length);
            return p;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double v : row) {
            max = Math.max(max, v);
        }
        if (Double.isNaN(max)) {
            throw new ModelException("The model produced NaN scores; no probabilities can be given");
        }
        if (Double.isInfinite(max)) {
            // +inf scores share all the probability; all -inf: nothing to prefer, uniform.
            int count = 0;
            for (double v : row) {
                count += v == max ? 1 : 0;
            }
            for (int i = 0; i < row.length; i++) {
                p[i] = row[i] == max ? 1.0 / count : 0;
            }
            return p;
        }
        double sum = 0;
        for (int i = 0; i < row.length; i++) {
            p[i] = Math.exp(row[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < row.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private Integer declaredClasses() {
        TensorType t = model.outputs().getFirst().type();
        if (t == null || t.dims() == null || t.dims().length == 0) {
            return null;
        }
        long k = 1;
        for (int i = t.dims().length == 1 ? 0 : 1; i < t.dims().length; i++) {
            if (t.dims()[i] < 0) {
                return null;
            }
            k *= t.dims()[i];
        }
        return k > Integer.MAX_VALUE ? null : (int) k;
    }

    private static String labelSource(Options o) {
        return o.labels() != null ? "The labels given" : o.labelsFile() != null ? "'" + o.labelsFile() + "'"
                : "Model metadata " + LABELS;
    }

    // ---- images and labels

    /**
     * Reads an image file with ImageIO ({@code java.desktop}).
     *
     * @throws ImageDecodeException naming the file when it is missing, unreadable or not a decodable image
     */
    public static BufferedImage readImage(Path file) {
        byte[] bytes = readBytes(file);
        BufferedImage img = AwtImages.decodeOrNull(bytes, "'" + file + "'");
        if (img == null) {
            throw new ImageDecodeException("'" + file + "' is not an image Tandem can decode (PNG, JPEG, BMP, GIF)");
        }
        return img;
    }

    /**
     * Reads and decodes an image file: with ImageIO where the runtime has {@code java.desktop} (PNG, JPEG, BMP,
     * GIF), else with Tandem's own PNG decoder (PNG only).
     *
     * @throws ImageDecodeException naming the file when it is missing, unreadable or not a decodable image
     */
    public static RgbImage readPixels(Path file) {
        return decode(readBytes(file), "'" + file + "'");
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException("Image file not found: " + file);
        } catch (IOException e) {
            throw new ImageDecodeException("Cannot read image '" + file + "': " + e.getMessage());
        }
    }

    /** Decodes image bytes as {@link #readPixels} does; {@code what} names them in messages ("'f.png'" or bytes). */
    private static RgbImage decode(byte[] bytes, String what) {
        String subject = what.startsWith("'") ? what + " is" : what + " (" + bytes.length + " bytes) are";
        if (HAS_IMAGE_IO) {
            BufferedImage img = AwtImages.decodeOrNull(bytes, what);
            if (img == null) {
                throw new ImageDecodeException(subject + " not an image Tandem can decode (PNG, JPEG, BMP, GIF)");
            }
            return AwtImages.toRgb(img);
        }
        if (!PngDecoder.isPng(bytes)) {
            throw new ImageDecodeException(subject + " not a PNG image; this Java runtime has no java.desktop module, "
                    + "so Tandem decodes PNG only (a bundle made with tandem package --image-io decodes JPEG, BMP and "
                    + "GIF too)");
        }
        return PngDecoder.decode(bytes, what);
    }

    /** Labels from a file: a JSON array of strings, or one label per line (trailing empty lines ignored). */
    public static List<String> readLabels(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("Labels file not found: " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read labels file '" + file + "': " + e.getMessage(), e);
        }
        if (text.strip().startsWith("[")) {
            try {
                return List.copyOf(Json.stringArray(text.strip()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Labels file '" + file + "' is not a JSON array of strings: "
                        + e.getMessage());
            }
        }
        List<String> lines = new ArrayList<>(text.lines().map(String::strip).toList());
        while (!lines.isEmpty() && lines.getLast().isEmpty()) {
            lines.removeLast();
        }
        return List.copyOf(lines);
    }

    /** Closes the model when this classifier loaded it. */
    @Override
    public void close() {
        if (ownsModel) {
            model.close();
        }
    }

    static {
        // Image decoding must not try to open a display.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

}
