package dev.tandem.train.data;

import java.util.List;
import java.util.Objects;

/**
 * A dataset held in memory as 8-bit pixels: {@code pixels} holds the samples one after the other, each
 * {@code channels × height × width} bytes (CHW), and {@code read} scales them by 1/255. Immutable; the arrays are
 * owned by this object (callers hand them over and must not change them afterwards).
 */
public final class ByteDataset implements Dataset {
    private final List<String> classes;
    private final int channels;
    private final int height;
    private final int width;
    private final byte[] pixels;
    private final int[] labels;

    /**
     * @throws IllegalArgumentException when the array lengths do not fit the shape or a label is out of range
     */
    public ByteDataset(List<String> classes, int channels, int height, int width, byte[] pixels, int[] labels) {
        this.classes = List.copyOf(classes);
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.pixels = Objects.requireNonNull(pixels);
        this.labels = Objects.requireNonNull(labels);
        if (channels < 1 || height < 1 || width < 1
                || (long) labels.length * channels * height * width != pixels.length) {
            throw new IllegalArgumentException(labels.length + " samples of " + channels + "x" + height + "x" + width
                    + " do not fit " + pixels.length + " pixel bytes");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= this.classes.size()) {
                throw new IllegalArgumentException("Label " + labels[i] + " of sample " + i + " is not in 0.."
                        + (this.classes.size() - 1));
            }
        }
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public void read(int index, float[] dst, int off) {
        int n = sampleSize();
        Objects.checkIndex(index, labels.length);
        Objects.checkFromIndexSize(off, n, dst.length);
        int base = index * n;
        for (int k = 0; k < n; k++) {
            dst[off + k] = (pixels[base + k] & 0xff) / 255f;
        }
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public String toString() {
        return "ByteDataset[" + size() + " x " + channels + "x" + height + "x" + width + ", " + classes.size()
                + " classes]";
    }
}
