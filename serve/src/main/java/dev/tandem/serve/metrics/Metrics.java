package dev.tandem.serve.metrics;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * A small registry of Prometheus metrics written in the text exposition format (version 0.0.4): counters and
 * histograms with labels, and gauges whose samples are taken when scraped. Hand-written because the server needs
 * a handful of series, and the official client would be the module's only reason to pull in four more jars.
 *
 * <p>Thread-safe: counters and histograms are lock-free adders; families are created once, at server build time.
 */
public final class Metrics {
    /** The {@code Content-Type} of {@link #scrape()}. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final List<Family> families = new ArrayList<>();

    /** A family of counters, one per combination of label values. */
    public Counter counter(String name, String help, String... labels) {
        return register(new Counter(name, help, labels));
    }

    /** A family of histograms with these upper bucket bounds (ascending; +Inf is added). */
    public Histogram histogram(String name, String help, double[] buckets, String... labels) {
        return register(new Histogram(name, help, buckets, labels));
    }

    /** A gauge family whose samples {@code sampler} emits at each scrape ({@link Sampler#sample}). */
    public void gauge(String name, String help, Consumer<Sampler> sampler) {
        register(new Gauge(name, help, sampler));
    }

    private synchronized <F extends Family> F register(F f) {
        for (Family g : families) {
            if (g.name.equals(f.name)) {
                throw new IllegalArgumentException("Metric '" + f.name + "' is already registered");
            }
        }
        families.add(f);
        return f;
    }

    /** All metrics in the Prometheus text format. */
    public synchronized byte[] scrape() {
        StringBuilder sb = new StringBuilder(4096);
        for (Family f : families) {
            sb.append("# HELP ").append(f.name).append(' ').append(f.help.replace("\\", "\\\\").replace("\n", "\\n"))
                    .append('\n');
            sb.append("# TYPE ").append(f.name).append(' ').append(f.type()).append('\n');
            f.write(sb);
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Receives gauge samples during a scrape. */
    public interface Sampler {
        /** One sample; {@code labels} alternate names and values: {@code "model", "m", "version", "2"}. */
        void sample(double value, String... labels);
    }

    private abstract static sealed class Family permits Counter, Histogram, Gauge {
        final String name;
        final String help;
        final String[] labels;

        Family(String name, String help, String[] labels) {
            if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
                throw new IllegalArgumentException("Invalid metric name '" + name + "'");
            }
            this.name = name;
            this.help = help;
            this.labels = labels.clone();
        }

        abstract String type();

        abstract void write(StringBuilder sb);

        List<String> key(String... values) {
            if (values.length != labels.length) {
                throw new IllegalArgumentException("Metric '" + name + "' takes labels " + Arrays.toString(labels)
                        + "; got " + values.length + " values");
            }
            return List.of(values);
        }

        static void labels(StringBuilder sb, String[] names, List<String> values, String extraName,
                           String extraValue) {
            if (names.length == 0 && extraName == null) {
                return;
            }
            sb.append('{');
            for (int i = 0; i < names.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(names[i]).append("=\"").append(escape(values.get(i))).append('"');
            }
            if (extraName != null) {
                if (names.length > 0) {
                    sb.append(',');
                }
                sb.append(extraName).append("=\"").append(extraValue).append('"');
            }
            sb.append('}');
        }

        static String escape(String v) {
            return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
        }
    }

    /** Monotonic counters by label values. */
    public static final class Counter extends Family {
        private final Map<List<String>, LongAdder> cells = new ConcurrentSkipListMap<>(Metrics::compare);

        Counter(String name, String help, String[] labels) {
            super(name, help, labels);
        }

        /** Adds one to the counter with these label values (in declaration order). */
        public void inc(String... labelValues) {
            add(1, labelValues);
        }

        /** Adds {@code n >= 0}. */
        public void add(long n, String... labelValues) {
            cells.computeIfAbsent(key(labelValues), k -> new LongAdder()).add(n);
        }

        /** The current value (0 when never incremented). */
        public long value(String... labelValues) {
            LongAdder a = cells.get(key(labelValues));
            return a == null ? 0 : a.sum();
        }

        @Override
        String type() {
            return "counter";
        }

        @Override
        void write(StringBuilder sb) {
            cells.forEach((k, v) -> {
                sb.append(name);
                labels(sb, labels, k, null, null);
                sb.append(' ').append(v.sum()).append('\n');
            });
        }
    }

    /** Histograms by label values, with cumulative buckets as Prometheus expects. */
    public static final class Histogram extends Family {
        private final double[] bounds;
        private final Map<List<String>, Cell> cells = new ConcurrentSkipListMap<>(Metrics::compare);

        Histogram(String name, String help, double[] bounds, String[] labels) {
            super(name, help, labels);
            for (int i = 1; i < bounds.length; i++) {
                if (!(bounds[i] > bounds[i - 1])) {
                    throw new IllegalArgumentException("Histogram buckets must ascend: " + Arrays.toString(bounds));
                }
            }
            this.bounds = bounds.clone();
        }

        /** Records one observation. */
        public void observe(double value, String... labelValues) {
            Cell c = cells.computeIfAbsent(key(labelValues), k -> new Cell(bounds.length));
            int i = 0;
            while (i < bounds.length && value > bounds[i]) {
                i++;
            }
            c.buckets[i].increment();
            c.sum.add(value);
        }

        /** How many observations were recorded with these label values. */
        public long count(String... labelValues) {
            Cell c = cells.get(key(labelValues));
            if (c == null) {
                return 0;
            }
            long n = 0;
            for (LongAdder b : c.buckets) {
                n += b.sum();
            }
            return n;
        }

        @Override
        String type() {
            return "histogram";
        }

        @Override
        void write(StringBuilder sb) {
            cells.forEach((k, c) -> {
                long cumulative = 0;
                for (int i = 0; i <= bounds.length; i++) {
                    cumulative += c.buckets[i].sum();
                    sb.append(name).append("_bucket");
                    labels(sb, labels, k, "le", i < bounds.length ? format(bounds[i]) : "+Inf");
                    sb.append(' ').append(cumulative).append('\n');
                }
                sb.append(name).append("_sum");
                labels(sb, labels, k, null, null);
                sb.append(' ').append(format(c.sum.sum())).append('\n');
                sb.append(name).append("_count");
                labels(sb, labels, k, null, null);
                sb.append(' ').append(cumulative).append('\n');
            });
        }

        private static final class Cell {
            final LongAdder[] buckets;
            final DoubleAdder sum = new DoubleAdder();

            Cell(int bounds) {
                buckets = new LongAdder[bounds + 1];
                for (int i = 0; i < buckets.length; i++) {
                    buckets[i] = new LongAdder();
                }
            }
        }
    }

    private static final class Gauge extends Family {
        private final Consumer<Sampler> sampler;

        Gauge(String name, String help, Consumer<Sampler> sampler) {
            super(name, help, new String[0]);
            this.sampler = sampler;
        }

        @Override
        String type() {
            return "gauge";
        }

        @Override
        void write(StringBuilder sb) {
            sampler.accept((value, labelPairs) -> {
                if (labelPairs.length % 2 != 0) {
                    throw new IllegalArgumentException("Gauge '" + name + "' labels must be name/value pairs");
                }
                sb.append(name);
                if (labelPairs.length > 0) {
                    sb.append('{');
                    for (int i = 0; i < labelPairs.length; i += 2) {
                        if (i > 0) {
                            sb.append(',');
                        }
                        sb.append(labelPairs[i]).append("=\"").append(escape(labelPairs[i + 1])).append('"');
                    }
                    sb.append('}');
                }
                sb.append(' ').append(format(value)).append('\n');
            });
        }
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    private static int compare(List<String> a, List<String> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).compareTo(b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    /** Exponential bucket bounds: {@code start, start*factor, ...}, {@code count} of them. */
    public static double[] exponential(double start, double factor, int count) {
        double[] b = new double[count];
        for (int i = 0; i < count; i++) {
            b[i] = start * Math.pow(factor, i);
        }
        return b;
    }
}
