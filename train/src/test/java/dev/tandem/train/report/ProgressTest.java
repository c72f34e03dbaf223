package dev.tandem.train.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    @Test
    void withoutATerminalPrintsAPlainLineEveryIntervalAndOneAtTheEnd() {
        AtomicLong nanos = new AtomicLong(5_000_000_000L);
        Progress.Options options = new Progress.Options(Progress.Mode.LINES, out, Duration.ofSeconds(10));
        try (Progress p = new Progress(options, "epoch 3/10", 50_000, nanos::get)) {
            // 1000 batches of 50 images, 35 ms each: 35 s in all.
            for (int batch = 1; batch <= 1000; batch++) {
                nanos.addAndGet(35_000_000L);
                p.update(batch * 50L, 2.0 / batch, 0.9 * batch / 1000);
            }
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text).doesNotContain("\r").doesNotContain("\u001b").doesNotContain("\b");
        List<String> lines = text.lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.getFirst()).startsWith("epoch 3/10: 14300/50000 images (28.6%), 1428.6 img/s, ETA 0:25")
                .contains("loss 0.0070", "acc 25.74%");
        assertThat(lines.getLast()).isEqualTo("epoch 3/10: 50000 images in 0:35, 1428.6 img/s, loss 0.0020 "
                + "acc 90.00%");
    }

    @Test
    void quietPrintsNothingAndCloseIsIdempotent() {
        Progress p = Progress.start(new Progress.Options(Progress.Mode.QUIET, out, Duration.ZERO), "epoch 1", 10);
        p.update(5, 1, 0.5);
        p.close();
        p.close();
        assertThat(bytes.size()).isZero();
        assertThatThrownBy(() -> p.update(6, 1, 0.5)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("epoch 1");
    }

    @Test
    void unmeasuredValuesAreLeftOut() {
        AtomicLong nanos = new AtomicLong();
        try (Progress p = new Progress(new Progress.Options(Progress.Mode.LINES, out, Duration.ofSeconds(1)),
                "eval", 100, nanos::get)) {
            nanos.addAndGet(2_000_000_000L);
            p.update(100, Double.NaN, Double.NaN);
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8).lines()).containsExactly(
                "eval: 100/100 images (100.0%), 50.0 img/s, ETA 0:00", "eval: 100 images in 0:02, 50.0 img/s");
    }

    @Test
    void barModeDrawsTheBar() {
        try (Progress p = Progress.start(new Progress.Options(Progress.Mode.BAR, out, Duration.ZERO),
                "epoch 1/2", 1000)) {
            p.update(500, 1.25, 0.5);
            p.update(1000, 1.0, 0.6);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        // Not a terminal here, so the bar is cut at 80 columns; a terminal shows the whole line.
        assertThat(text).contains("epoch 1/2", "1000/1000", "img/s", " loss 1.0000");
    }
}
