package dev.tandem.train.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    private static final String HEADER =
            "epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds,images_per_second";

    @TempDir
    Path dir;

    static EpochMetrics epoch(int e, double testAccuracy) {
        return new EpochMetrics(e, 2.0 / e, 0.5 + e / 100.0, 2.5 / e, testAccuracy, 0.1 / e, 10 + e, 1000 + e);
    }

    @Test
    void writesCsvRowsAndJsonSummary() throws IOException {
        MetricsLog log = MetricsLog.open(dir);
        log.put("recipe", Map.of("lr", 0.1, "epochs", 3)).put("dataset_sha256", "ab12");
        log.append(epoch(1, 0.50));
        log.append(epoch(2, 0.75));
        log.append(new EpochMetrics(3, 0.5, 0.9, Double.NaN, Double.NaN, 0.01, 12.5, 900));

        assertThat(Files.readAllLines(dir.resolve(MetricsLog.CSV))).containsExactly(HEADER,
                "1,2.0,0.51,2.5,0.5,0.1,11.0,1001.0",
                "2,1.0,0.52,1.25,0.75,0.05,12.0,1002.0",
                "3,0.5,0.9,,,0.01,12.5,900.0");

        JsonNode json = new ObjectMapper().readTree(dir.resolve(MetricsLog.JSON).toFile());
        assertThat(json.get("recipe").get("lr").asDouble()).isEqualTo(0.1);
        assertThat(json.get("dataset_sha256").asText()).isEqualTo("ab12");
        JsonNode summary = json.get("summary");
        assertThat(summary.get("epochs").asInt()).isEqualTo(3);
        assertThat(summary.get("seconds").asDouble()).isCloseTo(35.5, within(1e-9));
        assertThat(summary.get("test_accuracy").isNull()).isTrue(); // the last epoch did not evaluate
        assertThat(summary.get("best_test_accuracy").asDouble()).isEqualTo(0.75);
        assertThat(summary.get("best_epoch").asInt()).isEqualTo(2);
        assertThat(summary.get("train_images_per_second").asDouble()).isEqualTo(1001.0); // the median
        assertThat(summary.get("train_loss").asDouble()).isEqualTo(0.5);
        JsonNode epochs = json.get("epochs");
        assertThat(epochs).hasSize(3);
        assertThat(epochs.get(0).get("epoch").asInt()).isEqualTo(1);
        assertThat(epochs.get(1).get("test_accuracy").asDouble()).isEqualTo(0.75);
        assertThat(epochs.get(2).get("test_loss").isNull()).isTrue();
        List<String> names = List.copyOf(iterable(epochs.get(0)));
        assertThat(names).containsExactlyElementsOf(MetricsLog.COLUMNS);
        assertThat(List.copyOf(iterable(json))).containsExactly("recipe", "dataset_sha256", "summary", "epochs");
    }

    @Test
    void aResumedRunContinuesTheFilesWithoutDuplicates() throws IOException {
        MetricsLog first = MetricsLog.open(dir);
        first.put("recipe", "resnet18");
        for (int e = 1; e <= 4; e++) {
            first.append(epoch(e, e / 10.0));
        }

        // Resumed from the checkpoint of epoch 2: epochs 3 and 4 are trained again.
        MetricsLog resumed = MetricsLog.open(dir);
        assertThat(resumed.epochs()).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3, 4);
        resumed.append(epoch(3, 0.33));
        assertThat(resumed.epochs()).extracting(EpochMetrics::epoch).containsExactly(1, 2, 3);
        resumed.append(epoch(4, 0.44));
        resumed.append(epoch(5, 0.55));

        List<String> lines = Files.readAllLines(dir.resolve(MetricsLog.CSV));
        assertThat(lines).hasSize(6).filteredOn(HEADER::equals).hasSize(1);
        assertThat(lines.subList(1, 6)).extracting(l -> l.split(",")[0]).containsExactly("1", "2", "3", "4", "5");
        assertThat(lines.get(3).split(",")[4]).isEqualTo("0.33");
        JsonNode json = new ObjectMapper().readTree(dir.resolve(MetricsLog.JSON).toFile());
        assertThat(json.get("recipe").asText()).isEqualTo("resnet18"); // kept from the first run
        assertThat(json.get("epochs")).hasSize(5);
        assertThat(json.get("summary").get("best_epoch").asInt()).isEqualTo(5);

        // Plain continuation after a restart appends.
        MetricsLog again = MetricsLog.open(dir);
        again.append(epoch(6, 0.6));
        assertThat(Files.readAllLines(dir.resolve(MetricsLog.CSV))).hasSize(7).last()
                .asString().startsWith("6,");
    }

    @Test
    void aRowCutShortByACrashIsDropped() throws IOException {
        Files.writeString(dir.resolve(MetricsLog.CSV), HEADER + "\n1,2.0,0.51,2.5,0.5,0.1,11.0,1001.0\n2,1.0,0.5");
        MetricsLog log = MetricsLog.open(dir);
        assertThat(log.epochs()).extracting(EpochMetrics::epoch).containsExactly(1);
        log.append(epoch(2, 0.7));
        assertThat(Files.readAllLines(dir.resolve(MetricsLog.CSV))).hasSize(3);
        assertThat(MetricsLog.open(dir).epochs()).extracting(EpochMetrics::testAccuracy).containsExactly(0.5, 0.7);
    }

    @Test
    void refusesFilesThatAreNotItsOwn() throws IOException {
        Files.writeString(dir.resolve(MetricsLog.CSV), "a,b\n1,2\n");
        assertThatThrownBy(() -> MetricsLog.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(MetricsLog.CSV).hasMessageContaining("not a Tandem metrics log");

        Files.writeString(dir.resolve(MetricsLog.CSV), HEADER + "\n1,x,,,,,,\n");
        assertThatThrownBy(() -> MetricsLog.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("line 2");

        assertThatThrownBy(() -> MetricsLog.open(dir.resolve("fresh")).put("epochs", 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> iterable(JsonNode node) {
        java.util.ArrayList<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
