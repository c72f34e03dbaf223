package dev.tandem.runtime.classify;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Everything of the classifier that needs {@code java.desktop}: ImageIO decoding and {@link BufferedImage}
 * conversion. Kept in this one class so that classification through {@link RgbImage} loads and verifies on a
 * runtime without that module: this class must not be touched there, not even for a constant or a check, since
 * verifying it loads {@code java.awt} classes ({@link Classifier} asks {@code ModuleLayer} first).
 */
final class AwtImages {
    private AwtImages() {
    }

    /**
     * The pixels of an image as {@link ImageSpec} reads them. Grey images give their stored samples (scaled to 8
     * bits), as PIL reads them: {@code getRGB} would convert them through the sRGB gamma (64 to 137, 128 to 188).
     */
    static RgbImage toRgb(BufferedImage image) {
        int iw = image.getWidth();
        int ih = image.getHeight();
        if ((long) iw * ih > ImageSpec.MAX_PIXELS) {
            throw new ImageDecodeException("The image is " + iw + "x" + ih + " pixels; at most " + ImageSpec.MAX_PIXELS
                    + " are accepted");
        }
        int[] rgb;
        if (image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && image.getRaster().getNumBands() >= 1) {
            Raster r = image.getRaster();
            int bits = image.getColorModel().getComponentSize(0);
            double toByte = bits <= 8 ? 1.0 : 255.0 / ((1 << bits) - 1);
            rgb = new int[iw * ih];
            int[] row = new int[iw];
            for (int y = 0; y < ih; y++) {
                r.getSamples(0, y, iw, 1, 0, row);
                for (int x = 0; x < iw; x++) {
                    int v = (int) Math.rint(row[x] * toByte);
                    rgb[y * iw + x] = v << 16 | v << 8 | v;
                }
            }
        } else {
            rgb = image.getRGB(0, 0, iw, ih, null, 0, iw);
            for (int i = 0; i < rgb.length; i++) {
                rgb[i] &= 0xffffff;
            }
        }
        return new RgbImage(iw, ih, rgb);
    }

    /**
     * Decodes image bytes with ImageIO.
     *
     * @param what names the bytes in messages ("'shoe.png'", "The image bytes")
     * @return the image, or null when no ImageIO reader recognises the bytes
     * @throws ImageDecodeException when a reader recognises them but they are corrupt, or the image has no pixels
     */
    static BufferedImage decodeOrNull(byte[] bytes, String what) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            if (img != null && (img.getWidth() < 1 || img.getHeight() < 1)) {
                throw new ImageDecodeException(what + " has no pixels");
            }
            return img;
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageDecodeException d) {
                throw d;
            }
            throw new ImageDecodeException(what + " is a corrupt image: " + e.getMessage());
        }
    }

    static {
        // Image decoding must not try to open a display.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }
}
