package dev.tandem.train.report;

import java.io.Console;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The console progress of one epoch: images done, images per second, ETA, and the running loss and accuracy.
 *
 * <p>On a terminal it is a redrawn bar (me.tongfei progressbar). When the output is not a terminal (a log file,
 * CI, a pipe) it prints plain lines without control characters: one every {@link Options#lineInterval()} at most,
 * and a last one on {@link #close()}. {@link Mode#QUIET} prints nothing.
 *
 * <p>Use from one thread; {@link #close()} is idempotent and {@link #update} after it throws
 * {@link IllegalStateException}.
 */
public final class Progress implements AutoCloseable {
    /** How progress is shown. */
    public enum Mode {
        /** {@link #BAR} when the JVM's console is a terminal, {@link #LINES} otherwise. */
        AUTO,
        /** A bar redrawn in place. */
        BAR,
        /** Plain periodic lines. */
        LINES,
        /** Nothing. */
        QUIET
    }

    /** Where and how to show progress. */
    public record Options(Mode mode, PrintStream out, Duration lineInterval) {
        public Options {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(out, "out");
            if (lineInterval.isNegative()) {
                throw new IllegalArgumentException("Negative line interval " + lineInterval);
            }
        }

        /** {@link Mode#AUTO} on {@code System.out}, a line every 10 s when not on a terminal. */
        public static Options defaults() {
            return new Options(Mode.AUTO, System.out, Duration.ofSeconds(10));
        }

        /** Shows nothing. */
        public static Options quiet() {
            return new Options(Mode.QUIET, System.out, Duration.ofSeconds(10));
        }
    }

    private final String task;
    private final long total;
    private final PrintStream out;
    private final long intervalNanos;
    private final LongSupplier clock;
    private final long startNanos;
    private final ProgressBar bar;
    private final boolean lines;
    private long lastLineNanos;
    private long done;
    private double loss = Double.NaN;
    private double accuracy = Double.NaN;
    private boolean closed;

    /**
     * Starts showing the progress of {@code task} (for example "epoch 3/10") over {@code totalImages} images.
     */
    public static Progress start(Options options, String task, long totalImages) {
        return new Progress(options, task, totalImages, System::nanoTime);
    }

    Progress(Options options, String task, long totalImages, LongSupplier clock) {
        if (totalImages < 0) {
            throw new IllegalArgumentException("Negative image count " + totalImages);
        }
        this.task = task;
        this.total = totalImages;
        this.out = options.out();
        this.intervalNanos = options.lineInterval().toNanos();
        this.clock = clock;
        this.startNanos = clock.getAsLong();
        this.lastLineNanos = startNanos;
        Mode mode = options.mode() == Mode.AUTO ? (isTerminal() ? Mode.BAR : Mode.LINES) : options.mode();
        this.lines = mode == Mode.LINES;
        this.bar = mode == Mode.BAR ? new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalImages)
                .setUnit(" img", 1)
                .showSpeed()
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build() : null;
    }

    /**
     * Reports that {@code imagesDone} images of the epoch are done, with the running (mean so far) loss and
     * accuracy; NaN leaves a value out.
     */
    public void update(long imagesDone, double runningLoss, double runningAccuracy) {
        if (closed) {
            throw new IllegalStateException("Progress of '" + task + "' is closed");
        }
        done = imagesDone;
        loss = runningLoss;
        accuracy = runningAccuracy;
        if (bar != null) {
            bar.stepTo(imagesDone);
            bar.setExtraMessage(" " + metrics());
        } else if (lines) {
            long now = clock.getAsLong();
            if (now - lastLineNanos >= intervalNanos) {
                lastLineNanos = now;
                out.println(progressLine(now));
            }
        }
    }

    /** Ends the display: the bar's final state, or a last summary line. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (bar != null) {
            bar.close();
        } else if (lines) {
            long elapsed = clock.getAsLong() - startNanos;
            out.println(String.format(Locale.ROOT, "%s: %d images in %s, %s%s", task, done, duration(elapsed),
                    speed(elapsed), metrics().isEmpty() ? "" : ", " + metrics()));
            out.flush();
        }
    }

    private String progressLine(long now) {
        long elapsed = now - startNanos;
        double rate = done * 1e9 / Math.max(1, elapsed);
        String eta = rate > 0 && total >= done ? duration((long) ((total - done) / rate * 1e9)) : "?";
        return String.format(Locale.ROOT, "%s: %d/%d images (%.1f%%), %s, ETA %s%s", task, done, total,
                total == 0 ? 100.0 : 100.0 * done / total, speed(elapsed), eta,
                metrics().isEmpty() ? "" : ", " + metrics());
    }

    private String speed(long elapsedNanos) {
        return String.format(Locale.ROOT, "%.1f img/s", done * 1e9 / Math.max(1, elapsedNanos));
    }

    private String metrics() {
        StringBuilder s = new StringBuilder();
        if (!Double.isNaN(loss)) {
            s.append(String.format(Locale.ROOT, "loss %.4f", loss));
        }
        if (!Double.isNaN(accuracy)) {
            s.append(s.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "acc %.2f%%", 100 * accuracy));
        }
        return s.toString();
    }

    static String duration(long nanos) {
        long s = Math.round(nanos / 1e9);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    private static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }
}
