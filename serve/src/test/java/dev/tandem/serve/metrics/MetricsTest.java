package dev.tandem.serve.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void writesCountersHistogramsAndGaugesInTheTextFormat() {
        Metrics m = new Metrics();
        Metrics.Counter c = m.counter("reqs_total", "Requests", "route", "status");
        Metrics.Histogram h = m.histogram("lat_seconds", "Latency", new double[] {0.1, 1}, "route");
        m.gauge("depth", "Queue depth", s -> {
            s.sample(3, "model", "a\"b");
            s.sample(0.5);
        });
        c.inc("/x", "200");
        c.inc("/x", "200");
        c.add(5, "/y", "404");
        h.observe(0.05, "/x");
        h.observe(0.5, "/x");
        h.observe(7, "/x");
        String text = new String(m.scrape(), StandardCharsets.UTF_8);
        assertThat(text).isEqualTo("""
                # HELP reqs_total Requests
                # TYPE reqs_total counter
                reqs_total{route="/x",status="200"} 2
                reqs_total{route="/y",status="404"} 5
                # HELP lat_seconds Latency
                # TYPE lat_seconds histogram
                lat_seconds_bucket{route="/x",le="0.1"} 1
                lat_seconds_bucket{route="/x",le="1"} 2
                lat_seconds_bucket{route="/x",le="+Inf"} 3
                lat_seconds_sum{route="/x"} 7.55
                lat_seconds_count{route="/x"} 3
                # HELP depth Queue depth
                # TYPE depth gauge
                depth{model="a\\"b"} 3
                depth 0.5
                """);
        assertThat(c.value("/x", "200")).isEqualTo(2);
        assertThat(h.count("/x")).isEqualTo(3);
    }

    @Test
    void refusesBadNamesDuplicatesAndWrongLabelCounts() {
        Metrics m = new Metrics();
        assertThatThrownBy(() -> m.counter("bad-name", "x")).isInstanceOf(IllegalArgumentException.class);
        Metrics.Counter c = m.counter("ok_total", "x", "a");
        assertThatThrownBy(() -> m.counter("ok_total", "x")).hasMessageContaining("already registered");
        assertThatThrownBy(() -> c.inc("1", "2")).hasMessageContaining("takes labels [a]");
        assertThatThrownBy(() -> m.histogram("h", "x", new double[] {2, 1})).hasMessageContaining("ascend");
    }
}
