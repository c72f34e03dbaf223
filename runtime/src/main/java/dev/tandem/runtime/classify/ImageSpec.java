package dev.tandem.runtime.classify;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.tensor.DType;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How an image becomes a classifier's input tensor: the preprocessing a model declares in its
 * {@code metadata_props} ({@code tandem.input.*}, the contract is {@code docs/model-metadata.md}), with the
 * model's declared input shape and ImageNet defaults for whatever is absent.
 *
 * <p>Steps, in order: decode to RGB (alpha ignored); the {@link #resize} steps (bilinear with antialiasing, as
 * PIL/torchvision resize); a final stretch to {@code height × width} if the steps did not reach it; conversion to
 * {@link #color}; per channel {@code (pixel * scale - mean[c]) / std[c]} with pixels in 0..255; layout
 * {@link #layout}. Immutable and thread-safe.
 *
 * @param height   network input height
 * @param width    network input width
 * @param channels 1 or 3
 * @param layout   "NCHW" or "NHWC"
 * @param color    "RGB", "BGR" or "GRAY"
 * @param scale    factor applied to 0..255 pixel values
 * @param mean     per channel, subtracted after scaling
 * @param std      per channel, divides after the mean
 * @param resize   the resize steps as given (e.g. "shorter-side:256,center-crop:224"), normalised
 */
public record ImageSpec(int height, int width, int channels, String layout, String color, double scale,
                        double[] mean, double[] std, String resize) {

    public static final String SIZE = "tandem.input.size";
    public static final String CHANNELS = "tandem.input.channels";
    public static final String LAYOUT = "tandem.input.layout";
    public static final String COLOR = "tandem.input.color";
    public static final String SCALE = "tandem.input.scale";
    public static final String MEAN = "tandem.input.mean";
    public static final String STD = "tandem.input.std";
    public static final String RESIZE = "tandem.input.resize";

    static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};
    static final double GRAY_MEAN = 0.449;
    static final double GRAY_STD = 0.226;
    static final int DEFAULT_SIZE = 224;

    /**
     * The preprocessing of a single-image-input model: its metadata over its declared input shape over defaults.
     *
     * @throws ModelFormatException      when a {@code tandem.input.*} value is malformed or contradicts the shape
     * @throws UnsupportedModelException when the model's input is not a float32 image tensor
     */
    public static ImageSpec of(Model model) {
        List<Model.IoInfo> ins = model.inputs();
        if (ins.size() != 1) {
            throw new UnsupportedModelException("A classifier model takes one image input; this model has "
                    + ins.size() + ": " + ins);
        }
        TensorType t = ins.getFirst().type();
        if (t != null && t.dtype() != null && t.dtype() != DType.FLOAT32) {
            throw new UnsupportedModelException("The classifier's input '" + ins.getFirst().name()
                    + "' must be float32 image data; it is " + t.describe());
        }
        long[] dims = t == null ? null : t.dims();
        if (dims != null && dims.length != 4) {
            throw new UnsupportedModelException("The classifier's input '" + ins.getFirst().name()
                    + "' must be a 4-D image batch (NCHW or NHWC); it is " + t.describe());
        }
        return of(model.metadata(), dims);
    }

    /** The spec from metadata and declared input dims (4 entries, -1 for symbolic; or null when unknown). */
    static ImageSpec of(Map<String, String> meta, long[] dims) {
        String layout = meta.containsKey(LAYOUT) ? meta.get(LAYOUT).strip().toUpperCase(Locale.ROOT) : null;
        if (layout != null && !layout.equals("NCHW") && !layout.equals("NHWC")) {
            throw bad(LAYOUT, meta.get(LAYOUT), "NCHW or NHWC");
        }
        if (layout == null) {
            boolean nhwc = dims != null && !isChannels(dims[1]) && isChannels(dims[3]);
            layout = nhwc ? "NHWC" : "NCHW";
        }
        int cAxis = layout.equals("NCHW") ? 1 : 3;
        int hAxis = layout.equals("NCHW") ? 2 : 1;
        int channels;
        if (meta.containsKey(CHANNELS)) {
            channels = parseInt(CHANNELS, meta.get(CHANNELS));
            if (channels != 1 && channels != 3) {
                throw bad(CHANNELS, meta.get(CHANNELS), "1 or 3");
            }
        } else {
            channels = dims != null && dims[cAxis] >= 0 ? (int) dims[cAxis] : 3;
            if (channels != 1 && channels != 3) {
                throw new UnsupportedModelException("The classifier's input has " + channels + " channels on axis "
                        + cAxis + " (" + layout + "); images give 1 or 3 (set " + LAYOUT + " if the layout is wrong)");
            }
        }
        if (dims != null && dims[cAxis] >= 0 && dims[cAxis] != channels) {
            throw new ModelFormatException(CHANNELS + " is " + channels + " but the model's input has " + dims[cAxis]
                    + " channels (" + layout + ")");
        }
        int h;
        int w;
        if (meta.containsKey(SIZE)) {
            String[] p = meta.get(SIZE).split(",");
            if (p.length != 2) {
                throw bad(SIZE, meta.get(SIZE), "\"H,W\", e.g. \"224,224\"");
            }
            h = parseInt(SIZE, p[0]);
            w = parseInt(SIZE, p[1]);
        } else {
            h = dims != null && dims[hAxis] > 0 ? (int) dims[hAxis] : DEFAULT_SIZE;
            w = dims != null && dims[hAxis + 1] > 0 ? (int) dims[hAxis + 1] : DEFAULT_SIZE;
        }
        if (h < 1 || w < 1 || (long) h * w > 1 << 26) {
            throw bad(SIZE, h + "," + w, "positive sizes of at most 2^26 pixels");
        }
        if (dims != null && ((dims[hAxis] >= 0 && dims[hAxis] != h) || (dims[hAxis + 1] >= 0 && dims[hAxis + 1] != w))) {
            throw new ModelFormatException(SIZE + " is " + h + "," + w + " but the model's input is "
                    + Arrays.toString(dims) + " (" + layout + ")");
        }
        String color = meta.containsKey(COLOR) ? meta.get(COLOR).strip().toUpperCase(Locale.ROOT)
                : channels == 1 ? "GRAY" : "RGB";
        if (!color.equals("RGB") && !color.equals("BGR") && !color.equals("GRAY")) {
            throw bad(COLOR, meta.get(COLOR), "RGB, BGR or GRAY");
        }
        if ((channels == 1) != color.equals("GRAY")) {
            throw new ModelFormatException(COLOR + " " + color + " does not fit " + channels + " input channel(s)");
        }
        double scale = meta.containsKey(SCALE) ? parseNumber(SCALE, meta.get(SCALE)) : 1.0 / 255;
        double[] mean = meta.containsKey(MEAN) ? parseList(MEAN, meta.get(MEAN), channels)
                : channels == 3 ? IMAGENET_MEAN.clone() : new double[] {GRAY_MEAN};
        double[] std = meta.containsKey(STD) ? parseList(STD, meta.get(STD), channels)
                : channels == 3 ? IMAGENET_STD.clone() : new double[] {GRAY_STD};
        for (double s : std) {
            if (!(s != 0) || !Double.isFinite(s)) {
                throw bad(STD, meta.get(STD), "non-zero finite numbers");
            }
        }
        String resize = meta.containsKey(RESIZE) ? meta.get(RESIZE)
                : "shorter-side:" + Math.round(Math.min(h, w) * 256.0 / 224) + ",center-crop";
        ImageSpec spec = new ImageSpec(h, w, channels, layout, color, scale, mean, std, resize.strip());
        spec.steps(); // validates
        return spec;
    }

    private static boolean isChannels(long d) {
        return d == 1 || d == 3;
    }

    // ---- resize steps

    private sealed interface Step {
    }

    private record ShorterSide(int size) implements Step {
    }

    private record CenterCrop(int h, int w) implements Step {
    }

    private record Stretch() implements Step {
    }

    private List<Step> steps() {
        List<Step> out = new ArrayList<>();
        for (String raw : resize.split(",")) {
            String s = raw.strip().toLowerCase(Locale.ROOT);
            if (s.isEmpty()) {
                continue;
            }
            String[] kv = s.split(":", 2);
            switch (kv[0]) {
                case "stretch" -> out.add(new Stretch());
                case "shorter-side" -> {
                    if (kv.length != 2) {
                        throw bad(RESIZE, resize, "shorter-side:N");
                    }
                    int n = parseInt(RESIZE, kv[1]);
                    if (n < 1 || n > 1 << 14) {
                        throw bad(RESIZE, resize, "shorter-side:N with 1 <= N <= 16384");
                    }
                    out.add(new ShorterSide(n));
                }
                case "center-crop" -> {
                    if (kv.length == 1) {
                        out.add(new CenterCrop(height, width));
                    } else {
                        String[] hw = kv[1].split("x");
                        int ch = parseInt(RESIZE, hw[0]);
                        int cw = hw.length > 1 ? parseInt(RESIZE, hw[1]) : ch;
                        if (hw.length > 2 || ch < 1 || cw < 1) {
                            throw bad(RESIZE, resize, "center-crop, center-crop:N or center-crop:HxW");
                        }
                        out.add(new CenterCrop(ch, cw));
                    }
                }
                default -> throw bad(RESIZE, resize,
                        "comma-separated steps: stretch, shorter-side:N, center-crop[:N|:HxW]");
            }
        }
        return out;
    }

    // ---- applying

    /** The most pixels an image (or an intermediate resize) may have: 2^26, e.g. 8192 x 8192. */
    public static final long MAX_PIXELS = 1L << 26;

    /** The per-channel means (a copy). */
    @Override
    public double[] mean() {
        return mean.clone();
    }

    /** The per-channel standard deviations (a copy). */
    @Override
    public double[] std() {
        return std.clone();
    }

    /** Number of floats one image takes in the input tensor. */
    public int imageSize() {
        long s = (long) channels * height * width;
        if (s > MAX_PIXELS * 3) {
            throw new dev.tandem.runtime.UnsupportedModelException("The model's image input " + channels + "x"
                    + height + "x" + width + " is larger than the " + MAX_PIXELS * 3 + " values supported");
        }
        return (int) s;
    }

    /**
     * Preprocesses one image into {@code dst[offset .. offset + imageSize())} in this spec's layout. Grey images are
     * read by their stored samples (see {@link RgbImage}).
     */
    public void apply(BufferedImage image, float[] dst, int offset) {
        apply(AwtImages.toRgb(image), dst, offset);
    }

    /** Preprocesses one decoded image into {@code dst[offset .. offset + imageSize())} in this spec's layout. */
    public void apply(RgbImage image, float[] dst, int offset) {
        int iw = image.width();
        int ih = image.height();
        int[] px = image.pixels();
        float[][] planes = new float[3][iw * ih];
        for (int i = 0; i < px.length; i++) {
            planes[0][i] = (px[i] >> 16) & 0xff;
            planes[1][i] = (px[i] >> 8) & 0xff;
            planes[2][i] = px[i] & 0xff;
        }
        Plane img = new Plane(planes, ih, iw);
        for (Step s : steps()) {
            img = switch (s) {
                case Stretch x -> img.resize(height, width);
                case ShorterSide x -> {
                    int shortSide = Math.min(img.h, img.w);
                    long longSide = (long) x.size * Math.max(img.h, img.w) / shortSide;
                    if (longSide * x.size > MAX_PIXELS) {
                        throw new ImageDecodeException("Resizing a " + img.w + "x" + img.h + " image to shorter side "
                                + x.size + " would make " + longSide * x.size + " pixels; at most " + MAX_PIXELS);
                    }
                    yield img.h <= img.w ? img.resize(x.size, (int) Math.max(1, longSide))
                            : img.resize((int) Math.max(1, longSide), x.size);
                }
                case CenterCrop x -> img.crop(Math.min(x.h, img.h), Math.min(x.w, img.w));
            };
        }
        if (img.h != height || img.w != width) {
            img = img.resize(height, width);
        }
        int hw = height * width;
        for (int c = 0; c < channels; c++) {
            float[] src;
            if (color.equals("GRAY")) {
                src = new float[hw];
                for (int i = 0; i < hw; i++) {
                    src[i] = (float) (0.299 * img.p[0][i] + 0.587 * img.p[1][i] + 0.114 * img.p[2][i]);
                }
            } else {
                src = img.p[color.equals("BGR") ? 2 - c : c];
            }
            double m = mean[c];
            double sd = std[c];
            for (int i = 0; i < hw; i++) {
                float v = (float) ((src[i] * scale - m) / sd);
                dst[offset + (layout.equals("NCHW") ? c * hw + i : i * channels + c)] = v;
            }
        }
    }

    /** Three float planes of an RGB image. */
    private record Plane(float[][] p, int h, int w) {
        Plane crop(int ch, int cw) {
            // Python's round(): halves to even, as torchvision's CenterCrop
            int top = (int) Math.rint((h - ch) / 2.0);
            int left = (int) Math.rint((w - cw) / 2.0);
            float[][] out = new float[3][ch * cw];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < ch; y++) {
                    System.arraycopy(p[c], (top + y) * w + left, out[c], y * cw, cw);
                }
            }
            return new Plane(out, ch, cw);
        }

        Plane resize(int nh, int nw) {
            if (nh == h && nw == w) {
                return this;
            }
            float[][] out = new float[3][];
            for (int c = 0; c < 3; c++) {
                float[] horizontal = resample(p[c], h, w, nw, true);
                out[c] = resample(horizontal, h, nw, nh, false);
            }
            return new Plane(out, nh, nw);
        }

        /**
         * Resamples along one axis with a triangle (bilinear) filter widened by the downscale factor: PIL's
         * antialiased bilinear resize, which torchvision uses for PIL images.
         */
        private static float[] resample(float[] src, int rows, int cols, int newLen, boolean alongRows) {
            int inLen = alongRows ? cols : rows;
            int lines = alongRows ? rows : cols;
            float[] out = new float[alongRows ? rows * newLen : newLen * cols];
            double scale = (double) inLen / newLen;
            double support = Math.max(scale, 1.0);
            for (int o = 0; o < newLen; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(center - support));
                int hi = Math.min(inLen, (int) Math.ceil(center + support));
                double[] wts = new double[hi - lo];
                double sum = 0;
                for (int k = lo; k < hi; k++) {
                    double wt = Math.max(0, 1 - Math.abs((k + 0.5 - center) / support));
                    wts[k - lo] = wt;
                    sum += wt;
                }
                if (sum == 0) {
                    int k = Math.min(inLen - 1, Math.max(0, (int) center));
                    lo = k;
                    wts = new double[] {1};
                    sum = 1;
                }
                for (int line = 0; line < lines; line++) {
                    double acc = 0;
                    for (int k = 0; k < wts.length; k++) {
                        int idx = alongRows ? line * cols + lo + k : (lo + k) * cols + line;
                        acc += wts[k] * src[idx];
                    }
                    int di = alongRows ? line * newLen + o : o * cols + line;
                    out[di] = (float) (acc / sum);
                }
            }
            return out;
        }
    }

    // ---- parsing helpers

    private static ModelFormatException bad(String key, String value, String expected) {
        return new ModelFormatException("Model metadata " + key + " = '" + value + "' is invalid; expected "
                + expected + " (see docs/model-metadata.md)");
    }

    private static int parseInt(String key, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw bad(key, v, "an integer");
        }
    }

    /** A number, or a fraction "a/b" such as "1/255". */
    static double parseNumber(String key, String v) {
        String s = v.strip();
        try {
            int slash = s.indexOf('/');
            double d = slash < 0 ? Double.parseDouble(s)
                    : Double.parseDouble(s.substring(0, slash).strip()) / Double.parseDouble(s.substring(slash + 1).strip());
            if (!Double.isFinite(d)) {
                throw bad(key, v, "a finite number");
            }
            return d;
        } catch (NumberFormatException e) {
            throw bad(key, v, "a number or a fraction such as 1/255");
        }
    }

    private static double[] parseList(String key, String v, int channels) {
        String[] p = v.split(",");
        if (p.length != channels && p.length != 1) {
            throw bad(key, v, channels + " comma-separated numbers (one per channel)");
        }
        double[] out = new double[channels];
        for (int c = 0; c < channels; c++) {
            out[c] = parseNumber(key, p[p.length == 1 ? 0 : c]);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageSpec s && s.height == height && s.width == width && s.channels == channels
                && s.layout.equals(layout) && s.color.equals(color) && s.scale == scale
                && Arrays.equals(s.mean, mean) && Arrays.equals(s.std, std) && s.resize.equals(resize);
    }

    @Override
    public int hashCode() {
        return ((height * 31 + width) * 31 + channels) * 31 + resize.hashCode();
    }

    @Override
    public String toString() {
        return "ImageSpec[" + height + "x" + width + "x" + channels + " " + layout + " " + color + ", scale " + scale
                + ", mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std) + ", resize " + resize + "]";
    }
}
