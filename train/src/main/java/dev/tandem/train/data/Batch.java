package dev.tandem.train.data;

/**
 * One batch from a {@link DataLoader}: {@link #size()} samples in {@link #data()} as
 * {@code [capacity, channels, height, width]} floats (only the first {@code size() · sampleSize} are valid; a
 * last partial batch leaves the rest stale) and their labels in {@link #labels()}.
 *
 * <p>Ownership: the loader owns and reuses the arrays. A batch is valid until the consumer's next call to
 * {@link DataLoader.Epoch#next()} or until the epoch is closed; copy what must live longer. The consumer may
 * modify the arrays in the meantime.
 */
public final class Batch {
    private final float[] data;
    private final long[] labels;
    private final int[] indices;
    int size;
    int epoch;
    int index;

    Batch(int capacity, int sampleSize) {
        this.data = new float[Math.multiplyExact(capacity, sampleSize)];
        this.labels = new long[capacity];
        this.indices = new int[capacity];
    }

    /** The samples, CHW each, one after the other; length {@code capacity × sampleSize}. */
    public float[] data() {
        return data;
    }

    /** The class index of each sample; length {@code capacity}. */
    public long[] labels() {
        return labels;
    }

    /** The dataset index of each sample (for reports and debugging); length {@code capacity}. */
    public int[] indices() {
        return indices;
    }

    /** Number of valid samples: the batch size, or fewer for a last partial batch. */
    public int size() {
        return size;
    }

    /** The epoch this batch belongs to. */
    public int epoch() {
        return epoch;
    }

    /** The batch's position in its epoch, from 0. */
    public int index() {
        return index;
    }

    @Override
    public String toString() {
        return "Batch[epoch " + epoch + ", index " + index + ", " + size + " samples]";
    }
}
