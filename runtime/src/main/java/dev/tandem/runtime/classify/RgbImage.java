package dev.tandem.runtime.classify;

/**
 * A decoded image as the classifier preprocesses it: 8 bits per channel, red, green and blue, row-major, alpha
 * dropped. Grey images hold their stored grey value in all three channels (as PIL reads them, with no sRGB
 * conversion). It is Tandem's own image type so that classification needs no {@code java.desktop}: a runtime
 * without it (a {@code tandem package} bundle) decodes PNG files itself; {@link Classifier} converts
 * {@code BufferedImage}s where there are some.
 *
 * <p>Immutable: the constructor copies nothing but callers must not change the array afterwards. Thread-safe.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final int[] rgb;

    /**
     * @param rgb {@code width × height} pixels, row-major, each {@code 0xRRGGBB} (higher bits ignored); kept, not
     *            copied
     * @throws ImageDecodeException when the sizes are not positive, the array does not match them, or the image has
     *                              more than {@link ImageSpec#MAX_PIXELS} pixels
     */
    public RgbImage(int width, int height, int[] rgb) {
        if (width < 1 || height < 1) {
            throw new ImageDecodeException("The image is " + width + "x" + height + "; it has no pixels");
        }
        if ((long) width * height > ImageSpec.MAX_PIXELS) {
            throw new ImageDecodeException("The image is " + width + "x" + height + " pixels; at most "
                    + ImageSpec.MAX_PIXELS + " are accepted");
        }
        if (rgb.length != width * height) {
            throw new IllegalArgumentException("A " + width + "x" + height + " image needs " + width * height
                    + " pixels; got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The pixel at column {@code x}, row {@code y}, as {@code 0xRRGGBB}. */
    public int rgb(int x, int y) {
        return rgb[y * width + x] & 0xffffff;
    }

    /** The pixels, row-major; the caller must not change them. */
    int[] pixels() {
        return rgb;
    }
}
