package dev.tandem.runtime.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** Grey images are read by their stored samples (as PIL does), not through getRGB's sRGB gamma. */
class ImageSpecGrayTest {
    @Test
    void greyPngPixelsKeepTheirStoredValues() throws Exception {
        BufferedImage g = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = {0, 64, 128, 200};
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                g.getRaster().setSample(x, y, 0, values[x]);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(g, "png", png);
        BufferedImage read = ImageIO.read(new ByteArrayInputStream(png.toByteArray()));
        ImageSpec spec = new ImageSpec(4, 4, 1, "NCHW", "GRAY", 1.0, new double[] {0}, new double[] {1}, "stretch");
        float[] dst = new float[16];
        spec.apply(read, dst, 0);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                assertThat(dst[y * 4 + x]).as("pixel %d,%d", x, y).isCloseTo(values[x], org.assertj.core.data.Offset.offset(0.01f));
            }
        }
    }

    @Test
    void meanAndStdCannotBeChangedFromOutside() {
        ImageSpec spec = new ImageSpec(2, 2, 3, "NCHW", "RGB", 1.0, new double[] {1, 2, 3}, new double[] {1, 1, 1},
                "stretch");
        spec.mean()[0] = 1000;
        assertThat(spec.mean()[0]).isEqualTo(1);
    }
}
