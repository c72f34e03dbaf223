package dev.tandem.train.data;

import java.util.List;

/**
 * A labelled image dataset of fixed shape: {@link #size()} samples, each {@code channels × height × width} pixels
 * (CHW, row-major) scaled to [0, 1], with a class index in {@code 0 .. classes().size() - 1}.
 *
 * <p>Threads: {@link #read} and {@link #label} may be called concurrently from several threads (the
 * {@link DataLoader}'s workers); implementations are immutable after construction or otherwise thread-safe.
 */
public interface Dataset {
    /** Number of samples. */
    int size();

    /** Channels of every sample: 1 (grey) or 3 (RGB). */
    int channels();

    /** Height of every sample in pixels. */
    int height();

    /** Width of every sample in pixels. */
    int width();

    /** Class names, index = label. */
    List<String> classes();

    /**
     * Writes sample {@code index} into {@code dst[off .. off + sampleSize())}: CHW, values in [0, 1].
     *
     * @throws IndexOutOfBoundsException when {@code index} is not in {@code 0 .. size() - 1} or dst is too short
     * @throws DataFormatException       when a lazily decoded sample turns out unreadable
     */
    void read(int index, float[] dst, int off);

    /** The class index of sample {@code index}. */
    int label(int index);

    /** Floats one sample takes: {@code channels() * height() * width()}. */
    default int sampleSize() {
        return channels() * height() * width();
    }
}
