package dev.tandem.train.report;

import dev.tandem.train.io.AtomicFiles;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;

/**
 * The run's PNG charts, drawn with XChart off screen (this class sets {@code java.awt.headless=true} unless the
 * application chose a value) and written atomically ({@link AtomicFiles}).
 *
 * <p>Stateless and thread-safe.
 */
public final class Charts {
    public static final int CURVES_WIDTH = 1000;
    public static final int CURVES_HEIGHT = 900;
    public static final int CONFUSION_SIZE = 900;

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private Charts() {
    }

    /** {@link #curves(List, Path, int, int)} at {@value #CURVES_WIDTH} × {@value #CURVES_HEIGHT} pixels. */
    public static void curves(List<EpochMetrics> epochs, Path png) throws IOException {
        curves(epochs, png, CURVES_WIDTH, CURVES_HEIGHT);
    }

    /**
     * Writes the learning curves: loss (train, test) per epoch on the top half, accuracy (train, test) on the
     * bottom half. Unmeasured (NaN) points are left out; a series with none is not drawn.
     *
     * @throws IllegalArgumentException if {@code epochs} is empty
     */
    public static void curves(List<EpochMetrics> epochs, Path png, int width, int height) throws IOException {
        if (epochs.isEmpty()) {
            throw new IllegalArgumentException("No epochs to draw in " + png);
        }
        XYChart loss = lines("Loss", "loss", width, height / 2);
        add(loss, "train", epochs, EpochMetrics::trainLoss);
        add(loss, "test", epochs, EpochMetrics::testLoss);
        XYChart accuracy = lines("Accuracy", "accuracy", width, height - height / 2);
        // Accuracy rises: the lower right corner is where the lines are not.
        accuracy.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        accuracy.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        add(accuracy, "train", epochs, EpochMetrics::trainAccuracy);
        add(accuracy, "test", epochs, EpochMetrics::testAccuracy);

        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.drawImage(BitmapEncoder.getBufferedImage(loss), 0, 0, null);
            g.drawImage(BitmapEncoder.getBufferedImage(accuracy), 0, height / 2, null);
        } finally {
            g.dispose();
        }
        writePng(image, png);
    }

    /** {@link #confusion(long[][], List, Path, int)} at {@value #CONFUSION_SIZE} pixels square. */
    public static void confusion(long[][] matrix, List<String> labels, Path png) throws IOException {
        confusion(matrix, labels, png, CONFUSION_SIZE);
    }

    /**
     * Writes a confusion matrix as a heat map with the count in every cell: row {@code i} (true class
     * {@code labels[i]}, top to bottom) and column {@code j} (predicted class {@code labels[j]}) hold
     * {@code matrix[i][j]}.
     *
     * @throws IllegalArgumentException unless {@code matrix} is n × n with n = {@code labels.size()} ≥ 1 and
     *         counts ≥ 0
     */
    public static void confusion(long[][] matrix, List<String> labels, Path png, int size) throws IOException {
        int n = labels.size();
        if (n == 0 || matrix.length != n) {
            throw new IllegalArgumentException("A confusion matrix of " + matrix.length + " rows for " + n
                    + " labels");
        }
        List<Number[]> cells = new ArrayList<>();
        long max = 0;
        for (int i = 0; i < n; i++) {
            if (matrix[i].length != n) {
                throw new IllegalArgumentException("Confusion matrix row " + i + " has " + matrix[i].length
                        + " columns, expected " + n);
            }
            for (int j = 0; j < n; j++) {
                if (matrix[i][j] < 0) {
                    throw new IllegalArgumentException("Negative count at (" + i + ", " + j + ")");
                }
                max = Math.max(max, matrix[i][j]);
                // XChart's y index 0 is the bottom row; true class 0 goes on top.
                cells.add(new Number[] {j, n - 1 - i, matrix[i][j]});
            }
        }
        // XChart 3.8.8: only the constructors with a theme initialise the heat map's styler (fonts, axes).
        HeatMapChart chart = new HeatMapChart(size, size, Styler.ChartTheme.XChart);
        chart.setTitle("Confusion matrix");
        chart.setXAxisTitle("predicted");
        chart.setYAxisTitle("true");
        HeatMapStyler style = chart.getStyler();
        style.setShowValue(true)
                .setHeatMapValueDecimalPattern("0")
                .setValueFont(new Font(Font.SANS_SERIF, Font.BOLD, n <= 12 ? 14 : 10))
                .setValueFontColor(Color.BLACK)
                // Light colours only, so the black counts stay readable in every cell.
                .setRangeColors(new Color[] {Color.WHITE, new Color(0x9e, 0xca, 0xe1), new Color(0x42, 0x92, 0xc6)})
                .setMin(0)
                .setMax(Math.max(1, max))
                .setLegendPosition(Styler.LegendPosition.OutsideE);
        style.setChartBackgroundColor(Color.WHITE);
        style.setXAxisLabelRotation(n > 6 ? 45 : 0);
        List<String> rows = new ArrayList<>(labels).reversed();
        chart.addSeries("count", labels, rows, cells);
        writePng(BitmapEncoder.getBufferedImage(chart), png);
    }

    private static XYChart lines(String title, String yTitle, int width, int height) {
        XYChart chart = new XYChart(width, height);
        chart.setTitle(title);
        chart.setXAxisTitle("epoch");
        chart.setYAxisTitle(yTitle);
        XYStyler style = chart.getStyler();
        style.setXAxisDecimalPattern("0");
        style.setChartBackgroundColor(Color.WHITE);
        style.setLegendPosition(Styler.LegendPosition.InsideNE);
        return chart;
    }

    private static void add(XYChart chart, String name, List<EpochMetrics> epochs, ToDoubleFunction<EpochMetrics> y) {
        List<Integer> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (EpochMetrics m : epochs) {
            double v = y.applyAsDouble(m);
            if (Double.isFinite(v)) {
                xs.add(m.epoch());
                ys.add(v);
            }
        }
        if (!xs.isEmpty()) {
            chart.addSeries(name, xs, ys);
        }
    }

    private static void writePng(BufferedImage image, Path png) throws IOException {
        AtomicFiles.write(png, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("No PNG writer in this JVM");
            }
        });
    }
}
