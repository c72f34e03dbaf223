package dev.tandem.train.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartsTest {
    @TempDir
    Path dir;

    @Test
    void curvesAreADecodablePngWithContent() throws IOException {
        List<EpochMetrics> epochs = new ArrayList<>();
        for (int e = 1; e <= 30; e++) {
            double test = e % 5 == 0 ? Math.exp(-e / 12.0) * 1.1 : Double.NaN; // evaluated every 5th epoch
            epochs.add(new EpochMetrics(e, Math.exp(-e / 10.0), 1 - Math.exp(-e / 8.0), test,
                    Double.isNaN(test) ? Double.NaN : 1 - test, 0.1, 10, 1000));
        }
        Path png = dir.resolve("curves.png");
        Charts.curves(epochs, png);
        BufferedImage image = read(png);
        assertThat(image.getWidth()).isEqualTo(Charts.CURVES_WIDTH);
        assertThat(image.getHeight()).isEqualTo(Charts.CURVES_HEIGHT);
        assertNonTrivial(image);

        Path one = dir.resolve("one.png");
        Charts.curves(List.of(epochs.getFirst()), one, 640, 480);
        assertThat(read(one).getWidth()).isEqualTo(640);
        assertThat(read(one).getHeight()).isEqualTo(480);
        assertThatThrownBy(() -> Charts.curves(List.of(), dir.resolve("none.png")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void confusionMatrixIsADecodablePngWithContent() throws IOException {
        List<String> labels = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                "truck");
        long[][] m = new long[10][10];
        for (int i = 0; i < 10; i++) {
            for (int j = 0; j < 10; j++) {
                m[i][j] = i == j ? 800 + 10 * i : (i * 7 + j * 3) % 40;
            }
        }
        Path png = dir.resolve("confusion.png");
        Charts.confusion(m, labels, png);
        BufferedImage image = read(png);
        assertThat(image.getWidth()).isEqualTo(Charts.CONFUSION_SIZE);
        assertThat(image.getHeight()).isEqualTo(Charts.CONFUSION_SIZE);
        assertNonTrivial(image);
        // A chart, not a bare grid of cells: text (dark pixels; the darkest cell colour is not dark) in the
        // title strip, and the axis titles at the left ("true") and bottom ("predicted") edges.
        int w = image.getWidth();
        int h = image.getHeight();
        assertThat(darkPixels(image, 0, 0, w, h * 4 / 100)).as("title").isGreaterThan(100);
        assertThat(darkPixels(image, 0, 0, w * 3 / 100, h)).as("y axis title").isGreaterThan(20);
        assertThat(darkPixels(image, 0, h * 96 / 100, w, h)).as("x axis title").isGreaterThan(50);

        assertThatThrownBy(() -> Charts.confusion(new long[2][3], List.of("a", "b"), dir.resolve("x.png")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Charts.confusion(new long[3][3], List.of("a", "b"), dir.resolve("x.png")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static int darkPixels(BufferedImage image, int x0, int y0, int x1, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                int rgb = image.getRGB(x, y);
                n += ((rgb >> 16 & 0xff) + (rgb >> 8 & 0xff) + (rgb & 0xff)) < 200 ? 1 : 0;
            }
        }
        return n;
    }

    private static BufferedImage read(Path png) throws IOException {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("%s decodes as an image", png).isNotNull();
        return image;
    }

    /** Not blank: grey levels vary, and there are colours beyond black, white and antialiasing greys. */
    private static void assertNonTrivial(BufferedImage image) {
        double sum = 0;
        double squares = 0;
        Set<Integer> colours = new HashSet<>();
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                double grey = ((rgb >> 16) + (rgb >> 8 & 0xff) + (rgb & 0xff)) / 3.0;
                sum += grey;
                squares += grey * grey;
                n++;
            }
        }
        double mean = sum / n;
        assertThat(squares / n - mean * mean).as("pixel variance").isGreaterThan(100);
        assertThat(colours.stream().filter(c -> (c >> 16) != (c & 0xff)).count()).as("chromatic colours")
                .isGreaterThan(10);
    }
}
