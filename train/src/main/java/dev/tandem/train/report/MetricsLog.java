package dev.tandem.train.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tandem.train.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run's metrics on disk: {@value #CSV} gets one row per epoch (appended, for plotting tools and {@code tail -f})
 * and {@value #JSON} is rewritten atomically after each epoch with the caller's extra fields, a {@code summary}
 * object and the {@code epochs} list.
 *
 * <p>{@link #open} continues an existing log, so a resumed run extends its run's files. Appending epoch {@code e}
 * when the log already has {@code e} or later (a run resumed from an earlier checkpoint trains them again)
 * replaces those rows, so every epoch appears once and the log describes the run as it continued. A last row cut
 * short by a crash is dropped on open.
 *
 * <p>{@value #JSON} shape: {@code {<extra fields>..., "summary": {"epochs", "seconds", "test_accuracy",
 * "best_test_accuracy", "best_epoch", "train_images_per_second", "train_loss", "train_accuracy", "test_loss"},
 * "epochs": [{"epoch", "train_loss", ...}, ...]}}, snake_case names as in the CSV header; unmeasured (NaN) values
 * are empty cells in the CSV and {@code null} in the JSON.
 *
 * <p>Not thread-safe: the trainer's thread owns it.
 */
public final class MetricsLog {
    public static final String CSV = "metrics.csv";
    public static final String JSON = "metrics.json";
    /** The CSV header, also the JSON field names of an epoch. */
    public static final List<String> COLUMNS = List.of("epoch", "train_loss", "train_accuracy", "test_loss",
            "test_accuracy", "learning_rate", "seconds", "images_per_second");
    private static final Set<String> RESERVED = Set.of("summary", "epochs");
    private static final String HEADER = String.join(",", COLUMNS);
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path csv;
    private final Path json;
    private final List<EpochMetrics> epochs;
    private final Map<String, Object> extra;

    private MetricsLog(Path dir, List<EpochMetrics> epochs, Map<String, Object> extra) {
        this.csv = dir.resolve(CSV);
        this.json = dir.resolve(JSON);
        this.epochs = epochs;
        this.extra = extra;
    }

    /** What the log says about the run so far. */
    public record Summary(int epochs, double seconds, double testAccuracy, double bestTestAccuracy, int bestEpoch,
                          double trainImagesPerSecond) {
    }

    /**
     * Opens the log in {@code dir} (created if needed), continuing the epochs of an existing {@value #CSV} and
     * the extra fields of an existing {@value #JSON}.
     *
     * @throws IOException if {@value #CSV} exists but is not such a log (wrong header, a bad row other than a
     *         torn last one); the message names the file and line
     */
    @SuppressWarnings("unchecked")
    public static MetricsLog open(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path csv = dir.resolve(CSV);
        List<EpochMetrics> epochs = new ArrayList<>();
        if (Files.exists(csv)) {
            String text = Files.readString(csv, StandardCharsets.UTF_8);
            List<String> lines = new ArrayList<>(text.lines().toList());
            boolean torn = !text.isEmpty() && !text.endsWith("\n");
            if (torn) {
                lines.removeLast();
            }
            if (!lines.isEmpty() && !lines.getFirst().equals(HEADER)) {
                throw new IOException(csv + " is not a Tandem metrics log (header '" + lines.getFirst()
                        + "', expected '" + HEADER + "'); move it away or choose another output folder");
            }
            for (int i = 1; i < lines.size(); i++) {
                epochs.add(parse(csv, i + 1, lines.get(i)));
            }
            if (torn || lines.isEmpty()) {
                writeCsv(csv, epochs);
            }
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        Path json = dir.resolve(JSON);
        if (Files.exists(json)) {
            try {
                extra.putAll(MAPPER.readValue(json.toFile(), Map.class));
            } catch (IOException e) {
                // Only the extra fields come from here, and the caller sets them again; the CSV is the record.
            }
            extra.keySet().removeAll(RESERVED);
        }
        return new MetricsLog(dir, epochs, extra);
    }

    /** The epochs so far, oldest first (unmodifiable view). */
    public List<EpochMetrics> epochs() {
        return Collections.unmodifiableList(epochs);
    }

    /**
     * Sets a top-level field of {@value #JSON} (recipe, dataset hash, model name...), written with the next
     * {@link #append} or {@link #writeJson}.
     *
     * @param value anything Jackson writes (maps, lists, strings, numbers, records)
     * @throws IllegalArgumentException for the reserved names {@code summary} and {@code epochs}
     */
    public MetricsLog put(String key, Object value) {
        if (RESERVED.contains(key)) {
            throw new IllegalArgumentException("'" + key + "' is a reserved field of " + JSON);
        }
        extra.put(key, value);
        return this;
    }

    /** Records an epoch: a {@value #CSV} row (replacing rows of this epoch and later) and a new {@value #JSON}. */
    public void append(EpochMetrics m) throws IOException {
        if (!epochs.isEmpty() && m.epoch() <= epochs.getLast().epoch()) {
            epochs.removeIf(e -> e.epoch() >= m.epoch());
            epochs.add(m);
            writeCsv(csv, epochs);
        } else if (!Files.exists(csv)) {
            epochs.add(m);
            writeCsv(csv, epochs);
        } else {
            epochs.add(m);
            try (FileChannel channel = FileChannel.open(csv, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                ByteBuffer row = ByteBuffer.wrap((row(m) + "\n").getBytes(StandardCharsets.UTF_8));
                while (row.hasRemaining()) {
                    channel.write(row);
                }
                channel.force(false);
            }
        }
        writeJson();
    }

    /** Rewrites {@value #JSON} atomically now (for extra fields set after the last epoch). */
    public void writeJson() throws IOException {
        Map<String, Object> root = new LinkedHashMap<>(extra);
        root.put("summary", summaryJson());
        List<Map<String, Object>> list = new ArrayList<>();
        for (EpochMetrics m : epochs) {
            Map<String, Object> row = new LinkedHashMap<>();
            double[] values = values(m);
            row.put(COLUMNS.getFirst(), m.epoch());
            for (int c = 1; c < COLUMNS.size(); c++) {
                row.put(COLUMNS.get(c), orNull(values[c - 1]));
            }
            list.add(row);
        }
        root.put("epochs", list);
        AtomicFiles.write(json, out -> MAPPER.writeValue(out, root));
    }

    /**
     * The summary: test accuracy of the last epoch, the best test accuracy and its (first) epoch, the total
     * seconds, and the median of the epochs' training throughput (robust to the first epoch's warm-up).
     */
    public Summary summary() {
        double best = Double.NaN;
        int bestEpoch = 0;
        double seconds = 0;
        for (EpochMetrics m : epochs) {
            seconds += m.seconds();
            if (m.testAccuracy() > best || (Double.isNaN(best) && !Double.isNaN(m.testAccuracy()))) {
                best = m.testAccuracy();
                bestEpoch = m.epoch();
            }
        }
        double[] speeds = epochs.stream().mapToDouble(EpochMetrics::imagesPerSecond).filter(v -> !Double.isNaN(v))
                .sorted().toArray();
        double median = speeds.length == 0 ? Double.NaN
                : (speeds[(speeds.length - 1) / 2] + speeds[speeds.length / 2]) / 2;
        double last = epochs.isEmpty() ? Double.NaN : epochs.getLast().testAccuracy();
        return new Summary(epochs.size(), seconds, last, best, bestEpoch, median);
    }

    private Map<String, Object> summaryJson() {
        Summary s = summary();
        EpochMetrics last = epochs.isEmpty() ? null : epochs.getLast();
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("epochs", s.epochs());
        map.put("seconds", s.seconds());
        map.put("test_accuracy", orNull(s.testAccuracy()));
        map.put("best_test_accuracy", orNull(s.bestTestAccuracy()));
        map.put("best_epoch", s.bestEpoch() == 0 ? null : s.bestEpoch());
        map.put("train_images_per_second", orNull(s.trainImagesPerSecond()));
        map.put("train_loss", last == null ? null : orNull(last.trainLoss()));
        map.put("train_accuracy", last == null ? null : orNull(last.trainAccuracy()));
        map.put("test_loss", last == null ? null : orNull(last.testLoss()));
        return map;
    }

    private static void writeCsv(Path csv, List<EpochMetrics> epochs) throws IOException {
        StringBuilder text = new StringBuilder(HEADER).append('\n');
        epochs.forEach(m -> text.append(row(m)).append('\n'));
        AtomicFiles.writeString(csv, text.toString());
    }

    private static double[] values(EpochMetrics m) {
        return new double[] {m.trainLoss(), m.trainAccuracy(), m.testLoss(), m.testAccuracy(), m.learningRate(),
                m.seconds(), m.imagesPerSecond()};
    }

    private static String row(EpochMetrics m) {
        StringBuilder row = new StringBuilder().append(m.epoch());
        for (double v : values(m)) {
            row.append(',').append(Double.isNaN(v) ? "" : Double.toString(v));
        }
        return row.toString();
    }

    private static EpochMetrics parse(Path csv, int lineNumber, String line) throws IOException {
        String[] cells = line.split(",", -1);
        try {
            if (cells.length != COLUMNS.size()) {
                throw new NumberFormatException(cells.length + " cells, expected " + COLUMNS.size());
            }
            double[] v = Arrays.stream(cells, 1, cells.length)
                    .mapToDouble(c -> c.isEmpty() ? Double.NaN : Double.parseDouble(c)).toArray();
            return new EpochMetrics(Integer.parseInt(cells[0]), v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
        } catch (IllegalArgumentException e) {
            throw new IOException(csv + " line " + lineNumber + " is not a metrics row ('" + line + "'): "
                    + e.getMessage(), e);
        }
    }

    private static Object orNull(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
    }
}
