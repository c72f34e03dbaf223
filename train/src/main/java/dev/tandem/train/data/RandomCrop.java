package dev.tandem.train.data;

import java.util.random.RandomGenerator;

/**
 * Random crop with zero padding, as torchvision's {@code RandomCrop(size, padding)} with size equal to the input:
 * the sample is padded by {@code padding} zeros on every side and a window of the original size is taken at an
 * offset drawn uniformly in {@code [0, 2·padding]} on each axis (two draws: rows, then columns, always made).
 * Put it before {@link Normalize}, so the padding is black. Stateless.
 *
 * @param padding zeros added on each side, at least 0
 */
public record RandomCrop(int padding) implements Transform {
    public RandomCrop {
        if (padding < 0) {
            throw new IllegalArgumentException("Crop padding must be >= 0, not " + padding);
        }
    }

    @Override
    public void apply(float[] x, int off, int channels, int height, int width, RandomGenerator rng) {
        int dy = rng.nextInt(2 * padding + 1) - padding;
        int dx = rng.nextInt(2 * padding + 1) - padding;
        if (dy == 0 && dx == 0) {
            return;
        }
        int plane = height * width;
        float[] src = new float[channels * plane];
        System.arraycopy(x, off, src, 0, src.length);
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < height; y++) {
                int sy = y + dy;
                int row = off + c * plane + y * width;
                for (int xx = 0; xx < width; xx++) {
                    int sx = xx + dx;
                    boolean inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                    x[row + xx] = inside ? src[c * plane + sy * width + sx] : 0f;
                }
            }
        }
    }
}
