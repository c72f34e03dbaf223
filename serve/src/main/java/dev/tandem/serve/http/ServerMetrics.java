package dev.tandem.serve.http;

import dev.tandem.serve.metrics.Metrics;
import dev.tandem.serve.repository.LoadedVersion;
import dev.tandem.serve.repository.ModelRepository;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The server's Prometheus series: requests by route and status, latency by route, batch sizes by model, queue
 * depth and loaded version per model, load failures, requests in flight, readiness.
 */
public final class ServerMetrics implements ModelRepository.Listener {
    private final Metrics metrics = new Metrics();
    final Metrics.Counter requests = metrics.counter("tandem_http_requests_total",
            "HTTP requests answered, by route and status code", "route", "status");
    final Metrics.Histogram latency = metrics.histogram("tandem_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route", Metrics.exponential(0.00025, 2, 16), "route");
    private final Metrics.Histogram batchSizes = metrics.histogram("tandem_batch_size",
            "Rows per batch run, by model", new double[] {1, 2, 4, 8, 16, 32, 64, 128, 256}, "model");
    private final Metrics.Counter loadFailures = metrics.counter("tandem_model_load_failures_total",
            "Model files that failed to load, by model", "model");

    /**
     * Adds the gauges read at each scrape (the repository is built with this object as its listener, so they come
     * after). Call once.
     *
     * @param repository the models: queue depth and loaded versions
     * @param inFlight   requests being answered
     * @param ready      whether the server is ready
     */
    public void observe(ModelRepository repository, IntSupplier inFlight, BooleanSupplier ready) {
        metrics.gauge("tandem_queue_depth", "Requests waiting to be batched, by model and version", s -> {
            for (Map.Entry<String, LoadedVersion> e : repository.serving().entrySet()) {
                s.sample(e.getValue().queued(), "model", e.getKey(), "version",
                        Long.toString(e.getValue().version()));
            }
        });
        metrics.gauge("tandem_model_loaded", "1 for the version serving each model", s -> {
            for (Map.Entry<String, LoadedVersion> e : repository.serving().entrySet()) {
                s.sample(1, "model", e.getKey(), "version", Long.toString(e.getValue().version()));
            }
        });
        metrics.gauge("tandem_model_versions_open",
                "Model versions in memory: serving, or replaced and finishing their requests",
                s -> s.sample(repository.openVersions()));
        metrics.gauge("tandem_http_requests_in_flight", "Requests being answered", s -> s.sample(inFlight.getAsInt()));
        metrics.gauge("tandem_ready", "1 when the server is ready for traffic, 0 while starting or draining",
                s -> s.sample(ready.getAsBoolean() ? 1 : 0));
    }

    @Override
    public void batchRan(String model, long version, int rows) {
        batchSizes.observe(rows, model);
    }

    @Override
    public void loadFailed(String model, long version, String message) {
        loadFailures.inc(model);
    }

    /** The exposition text. */
    public byte[] scrape() {
        return metrics.scrape();
    }

    /** The registry, for tests and embedding. */
    public Metrics registry() {
        return metrics;
    }
}
