package dev.tandem.serve;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.serve.batch.BatchPolicy;
import dev.tandem.serve.http.BearerAuth;
import dev.tandem.serve.http.HttpApi;
import dev.tandem.serve.http.ServerMetrics;
import dev.tandem.serve.repository.ModelRepository;
import io.helidon.webserver.WebServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * An HTTP inference server over a model repository ({@code DIR/{model}/{version}/model.onnx}): the Open Inference
 * Protocol v2 REST API ({@code /v2/...}), image classification ({@code POST /v1/models/{m}:classify}), Prometheus
 * metrics ({@code /metrics}) and, when enabled, repository management (reload, pin). {@code docs/serving.md}
 * describes the endpoints and the behaviour.
 *
 * <pre>{@code
 * try (ModelServer server = ModelServer.builder(Path.of("models")).port(8080).tokenFile(Path.of("tokens"))
 *         .build().start()) {
 *     System.out.println("serving on " + server.uri());
 *     server.awaitClose();
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> {@link #start()} loads the newest version of every model, then binds (127.0.0.1 unless
 * told otherwise). {@link #close()} drains: readiness fails first, new inference requests get 503, requests in
 * flight complete (up to the drain timeout), then the listener stops and the models are freed. With
 * {@link Builder#shutdownHook(boolean)} the same drain runs on SIGTERM.
 *
 * <p>Thread-safe. Owns its thread pool (shared by every model it loads), its batch workers and its listener.
 */
public final class ModelServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ModelServer.class.getName());

    private final Builder config;
    private final ThreadPool pool;
    private final ModelRepository repository;
    private final ServerMetrics metrics;
    private final HttpApi api;
    private final Object lifecycle = new Object();
    private volatile WebServer web;
    private volatile int boundPort = -1;
    private volatile boolean started;
    private volatile boolean draining;
    private volatile boolean closed;
    private Thread hook;

    private ModelServer(Builder b) {
        this.config = b;
        BearerAuth auth = b.tokenFile != null ? BearerAuth.fromFile(b.tokenFile)
                : b.tokens != null ? BearerAuth.of(b.tokens) : null;
        this.pool = new ThreadPool(b.threads > 0 ? b.threads : Runtime.getRuntime().availableProcessors());
        try {
            this.metrics = new ServerMetrics();
            this.repository = new ModelRepository(b.repository, Model.Options.defaults().withPool(pool)
                    .withMaxMemory(b.maxMemory),
                    new BatchPolicy(b.maxBatch, b.maxDelay, b.queueCapacity), metrics);
            this.api = new HttpApi(repository, new HttpApi.Config(b.maxRequestBytes, b.requestTimeout, b.management,
                    auth, version()), metrics, new HttpApi.State() {
                        @Override
                        public boolean ready() {
                            return isReady();
                        }

                        @Override
                        public boolean draining() {
                            return draining;
                        }
                    });
            metrics.observe(repository, api::inFlight, this::isReady);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
        if (auth == null && !isLoopback(b.host)) {
            LOG.log(System.Logger.Level.WARNING, "Serving on {0} without a token file: anyone who can reach it may "
                    + "run the models", b.host);
        }
    }

    /** A builder for a server over the repository folder {@code DIR/{model}/{version}/model.onnx}. */
    public static Builder builder(Path repository) {
        return new Builder(repository);
    }

    /**
     * Loads the models (failures are logged and leave a model unavailable, not the server down), binds and starts
     * answering; with a watch interval, starts watching the repository.
     *
     * @return this server
     * @throws IllegalStateException when already started or closed
     */
    public ModelServer start() {
        synchronized (lifecycle) {
            if (started || closed) {
                throw new IllegalStateException(closed ? "The server is closed" : "The server is already started");
            }
            // Failures are logged by the repository; they leave a model unavailable, not the server down.
            repository.reload();
            if (config.watch != null) {
                repository.watch(config.watch);
            }
            try {
                WebServer w = WebServer.builder()
                        .host(config.host)
                        .port(config.port)
                        .shutdownHook(false)
                        // Our own limit answers with JSON (HttpApi); this one only stops a body far past it.
                        .maxPayloadSize(config.maxRequestBytes * 2 + 65536)
                        .routing(api::register)
                        .build()
                        .start();
                if (!w.isRunning() || w.port() <= 0) {
                    // Helidon logs a failed bind and returns a server that is not running.
                    w.stop();
                    throw new IllegalStateException("the address is in use or cannot be bound (see the log)");
                }
                web = w;
            } catch (RuntimeException e) {
                closed = true;
                repository.close();
                pool.close();
                lifecycle.notifyAll();
                throw new IllegalStateException("Cannot listen on " + config.host + ":" + config.port + ": "
                        + (e.getMessage() != null ? e.getMessage() : e), e);
            }
            boundPort = web.port();
            started = true;
            if (config.shutdownHook) {
                hook = Thread.ofPlatform().name("tandem-serve-shutdown").unstarted(this::close);
                Runtime.getRuntime().addShutdownHook(hook);
            }
            LOG.log(System.Logger.Level.INFO, "Tandem serving {0} model(s) from {1} on {2}",
                    repository.serving().size(), repository.root(), uri());
            return this;
        }
    }

    /** The port listened on (the one chosen when the builder asked for port 0); it stays known after close. */
    public int port() {
        if (boundPort < 0) {
            throw new IllegalStateException("The server is not started");
        }
        return boundPort;
    }

    /** The host (address) listened on. */
    public String host() {
        return config.host;
    }

    /** {@code http://host:port}. */
    public URI uri() {
        String h = config.host.contains(":") ? "[" + config.host + "]" : config.host;
        return URI.create("http://" + h + ":" + port());
    }

    /** The model repository: reload, pin and status, as the management endpoints do. */
    public ModelRepository repository() {
        return repository;
    }

    /** True when started and not draining: what {@code /v2/health/ready} answers. */
    public boolean isReady() {
        return started && !draining && !closed;
    }

    /** HTTP requests being answered now. */
    public int inFlight() {
        return api.inFlight();
    }

    /** Waits until this server is closed (by {@link #close()} from another thread, or by the shutdown hook). */
    public void awaitClose() throws InterruptedException {
        synchronized (lifecycle) {
            while (!closed) {
                lifecycle.wait();
            }
        }
    }

    /**
     * Drains and stops: readiness fails at once, new inference requests get 503, requests in flight complete (at
     * most the drain timeout), the listener stops, models are freed once idle. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed || draining) {
                return;
            }
            draining = true;
        }
        long until = System.nanoTime() + config.drainTimeout.toNanos();
        while (api.inFlight() > 0 && System.nanoTime() - until < 0) {
            sleep(5);
        }
        if (api.inFlight() > 0) {
            LOG.log(System.Logger.Level.WARNING, "Drain timeout: {0} request(s) still in flight are cut off",
                    api.inFlight());
        }
        WebServer w = web;
        if (w != null) {
            w.stop();
        }
        repository.close();
        // Closing the pool under a model still running would break that run: wait for the versions to close.
        long poolUntil = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (repository.openVersions() > 0 && System.nanoTime() - poolUntil < 0) {
            sleep(5);
        }
        if (repository.openVersions() == 0) {
            pool.close();
        } else {
            LOG.log(System.Logger.Level.WARNING, "{0} model version(s) still busy; their threads end with the JVM",
                    repository.openVersions());
        }
        synchronized (lifecycle) {
            closed = true;
            lifecycle.notifyAll();
        }
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is already shutting down.
            }
        }
        LOG.log(System.Logger.Level.INFO, "Tandem server stopped");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    private static String version() {
        String v = ModelServer.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    /**
     * Server options. Defaults: host 127.0.0.1, port 8080, no tokens, management off, no watch, max batch 8, max
     * delay 2 ms, queue 64 per model, request bodies up to 16 MiB, request timeout 30 s, drain timeout 30 s, all
     * processors, no memory budget, no shutdown hook.
     */
    public static final class Builder {
        private final Path repository;
        private String host = "127.0.0.1";
        private int port = 8080;
        private Path tokenFile;
        private List<String> tokens;
        private boolean management;
        private Duration watch;
        private int maxBatch = 8;
        private Duration maxDelay = Duration.ofMillis(2);
        private int queueCapacity = 64;
        private long maxRequestBytes = 16L << 20;
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration drainTimeout = Duration.ofSeconds(30);
        private int threads;
        private long maxMemory;
        private boolean shutdownHook;

        private Builder(Path repository) {
            this.repository = Objects.requireNonNull(repository, "repository");
        }

        /** The address to bind: 127.0.0.1 by default; 0.0.0.0 for every interface. */
        public Builder host(String h) {
            this.host = Objects.requireNonNull(h, "host");
            return this;
        }

        /** The port; 0 picks a free one ({@link ModelServer#port()} says which). */
        public Builder port(int p) {
            if (p < 0 || p > 65535) {
                throw new IllegalArgumentException("port must be 0..65535; got " + p);
            }
            this.port = p;
            return this;
        }

        /** A file of bearer tokens, one per line ({@code #} comments): every route but liveness then needs one. */
        public Builder tokenFile(Path f) {
            this.tokenFile = f;
            return this;
        }

        /** Bearer tokens given directly (instead of a file). */
        public Builder tokens(Collection<String> t) {
            this.tokens = t == null ? null : List.copyOf(t);
            return this;
        }

        /** Enables the repository endpoints: reload, load, pin, unpin, index. Off by default. */
        public Builder management(boolean on) {
            this.management = on;
            return this;
        }

        /** Rescans the repository this often (null: only on a reload request). */
        public Builder watch(Duration interval) {
            if (interval != null && (interval.isNegative() || interval.isZero())) {
                throw new IllegalArgumentException("watch interval must be > 0; got " + interval);
            }
            this.watch = interval;
            return this;
        }

        /** Most rows per batch (1: no batching). */
        public Builder maxBatch(int n) {
            this.maxBatch = n;
            return this;
        }

        /** How long a batch's first request waits for others. */
        public Builder maxDelay(Duration d) {
            this.maxDelay = d;
            return this;
        }

        /** Most requests waiting per model; more get 429. */
        public Builder queueCapacity(int n) {
            this.queueCapacity = n;
            return this;
        }

        /** Largest request body; larger ones get 413. */
        public Builder maxRequestBytes(long n) {
            if (n < 1 || n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("max request bytes must be 1..2^31-9; got " + n);
            }
            this.maxRequestBytes = n;
            return this;
        }

        /** Longest a request waits for its answer; longer gets 504. */
        public Builder requestTimeout(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("request timeout must be > 0; got " + d);
            }
            this.requestTimeout = d;
            return this;
        }

        /** Longest {@link ModelServer#close()} waits for requests in flight. */
        public Builder drainTimeout(Duration d) {
            this.drainTimeout = Objects.requireNonNull(d, "drainTimeout");
            return this;
        }

        /** Intra-op threads shared by all models (0: all processors). */
        public Builder threads(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("threads must be >= 0; got " + n);
            }
            this.threads = n;
            return this;
        }

        /**
         * A memory budget per model version in bytes (0: none, the default): a version whose weights plus the arena
         * of a run at {@link #maxBatch} rows need more is refused at load (its status says why, with both numbers),
         * and the previous version keeps serving. See {@link Model.Options#maxMemory()}.
         */
        public Builder maxMemory(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("max memory must be >= 0 bytes (0: no budget); got " + bytes);
            }
            this.maxMemory = bytes;
            return this;
        }

        /** Drains on JVM shutdown (SIGTERM, Ctrl-C) too. Off by default; the CLI turns it on. */
        public Builder shutdownHook(boolean on) {
            this.shutdownHook = on;
            return this;
        }

        /**
         * The server, not started.
         *
         * @throws IllegalArgumentException when the repository is not a folder or an option is out of range
         * @throws java.io.UncheckedIOException when the token file cannot be read
         */
        public ModelServer build() {
            new BatchPolicy(maxBatch, maxDelay, queueCapacity);
            return new ModelServer(this);
        }
    }
}
