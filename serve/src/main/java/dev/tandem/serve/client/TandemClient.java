package dev.tandem.serve.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.serve.batch.TensorData;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The device side of remote inference: classify or infer on a Tandem server (or any Open Inference Protocol v2
 * server for {@link #infer}), with a timeout per attempt and retries, and a cascade that answers with a local model
 * first and asks the server only when the local model is unsure.
 *
 * <pre>{@code
 * try (Classifier local = Classifier.load(Path.of("small.onnx"));
 *      TandemClient client = TandemClient.builder(URI.create("http://server:8080"), "fashion")
 *              .token(token).localModel(local).threshold(0.8).build()) {
 *     Classification c = client.cascade(Files.readAllBytes(Path.of("shoe.png")));
 *     System.out.println(c.top().label() + " from " + c.source());
 * }
 * }</pre>
 *
 * <p><b>Retries.</b> A call is retried when no answer came (connection refused or reset, attempt timeout) or the
 * server answered 429, 502, 503 or 504, waiting {@code backoff}, then twice that, and so on (at least the server's
 * {@code Retry-After}, at most 5 s). Other statuses (400, 401, 404, 413, 500) are answers and are not retried.
 *
 * <p><b>Updates.</b> With a {@link ModelUpdater} as the local model, the cascade uses whichever version the
 * updater has installed, and the updater polls this client's server for newer ones ({@link
 * ModelUpdater#startPolling}).
 *
 * <p>Thread-safe; the local classifier or updater stays the caller's (not closed by {@link #close()}).
 */
public final class TandemClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MAX_WAIT = Duration.ofSeconds(5);

    private final URI server;
    private final String model;
    private final Long version;
    private final String token;
    private final Duration timeout;
    private final int retries;
    private final Duration backoff;
    private final Classifier local;
    private final ModelUpdater updater;
    private final double threshold;
    private final int topK;
    private final HttpClient http;

    private TandemClient(Builder b) {
        this.server = b.server;
        this.model = b.model;
        this.version = b.version;
        this.token = b.token;
        this.timeout = b.timeout;
        this.retries = b.retries;
        this.backoff = b.backoff;
        this.local = b.local;
        this.updater = b.updater;
        this.threshold = b.threshold;
        this.topK = b.topK;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(b.timeout).build();
    }

    /** A client of {@code model} on the server at {@code server} (e.g. {@code http://127.0.0.1:8080}). */
    public static Builder builder(URI server, String model) {
        return new Builder(server, model);
    }

    /**
     * Classifies an encoded image on the server.
     *
     * @throws TandemClientException when the server refuses or cannot be reached after the retries
     */
    public Classification classify(byte[] image) {
        String path = "/v1/models/" + enc(model) + (version != null ? "/versions/" + version : "") + ":classify?top="
                + topK;
        JsonNode j = call(HttpRequest.newBuilder(server.resolve(path))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(image)));
        List<Prediction> predictions = new ArrayList<>();
        for (JsonNode p : j.path("predictions")) {
            predictions.add(new Prediction(p.path("label").asText(), p.path("index").asInt(),
                    p.path("probability").asDouble()));
        }
        if (predictions.isEmpty()) {
            throw new TandemClientException(200, "The server answered no predictions: " + j, null);
        }
        return new Classification(List.copyOf(predictions), Classification.Source.REMOTE,
                j.path("model_version").asText(null), null);
    }

    /**
     * Answers with the local model when its top-1 probability reaches the threshold; otherwise asks the server
     * (also when there is no local model). When the server cannot answer, the local answer is returned as
     * {@link Classification.Source#LOCAL_FALLBACK} with the reason; without a local model the failure is thrown.
     */
    public Classification cascade(byte[] image) {
        List<Prediction> mine = null;
        String mineVersion = null;
        if (local != null) {
            mine = local.classify(image);
        } else if (updater != null) {
            // The lease keeps this version open even if the updater swaps in another one meanwhile.
            try (ModelUpdater.Lease lease = updater.acquire()) {
                if (lease != null) {
                    mine = lease.classifier().classify(image);
                    mineVersion = Long.toString(lease.version());
                }
            }
        }
        if (mine != null && !mine.isEmpty() && mine.getFirst().probability() >= threshold) {
            return new Classification(top(mine), Classification.Source.LOCAL, mineVersion, null);
        }
        try {
            return classify(image);
        } catch (TandemClientException e) {
            if (mine == null || mine.isEmpty()) {
                throw e;
            }
            return new Classification(top(mine), Classification.Source.LOCAL_FALLBACK, mineVersion, e.getMessage());
        }
    }

    private List<Prediction> top(List<Prediction> p) {
        return List.copyOf(p.subList(0, Math.min(topK, p.size())));
    }

    /** A remote inference's outputs and the model version that computed them. */
    public record InferResult(String modelVersion, List<TensorData> outputs) {
        /** The output named {@code name}. */
        public TensorData output(String name) {
            return outputs.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("No output '" + name + "'; outputs: " + outputs));
        }
    }

    /**
     * Runs the model on the server with these inputs (Open Inference Protocol v2 JSON).
     *
     * @throws TandemClientException when the server refuses or cannot be reached after the retries
     */
    public InferResult infer(List<TensorData> inputs) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode ins = body.putArray("inputs");
        for (TensorData t : inputs) {
            ObjectNode in = ins.addObject();
            in.put("name", t.name());
            in.put("datatype", datatype(t.dtype()));
            ArrayNode shape = in.putArray("shape");
            for (int d : t.shape().dims()) {
                shape.add(d);
            }
            ArrayNode data = in.putArray("data");
            switch (t.data()) {
                case float[] f -> {
                    for (float v : f) {
                        data.add(v);
                    }
                }
                case double[] d -> {
                    for (double v : d) {
                        data.add(v);
                    }
                }
                case long[] l when t.dtype() == DType.BOOL -> {
                    for (long v : l) {
                        data.add(v != 0);
                    }
                }
                case long[] l -> {
                    for (long v : l) {
                        data.add(v);
                    }
                }
                default -> throw new IllegalArgumentException("Unsupported data for " + t);
            }
        }
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        String path = "/v2/models/" + enc(model) + (version != null ? "/versions/" + version : "") + "/infer";
        JsonNode j = call(HttpRequest.newBuilder(server.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)));
        List<TensorData> outputs = new ArrayList<>();
        for (JsonNode o : j.path("outputs")) {
            outputs.add(tensor(o));
        }
        return new InferResult(j.path("model_version").asText(null), List.copyOf(outputs));
    }

    private static String datatype(DType t) {
        return switch (t) {
            case FLOAT32 -> "FP32";
            case FLOAT64 -> "FP64";
            case INT64 -> "INT64";
            case INT32 -> "INT32";
            case INT8 -> "INT8";
            case UINT8 -> "UINT8";
            case BOOL -> "BOOL";
        };
    }

    private static TensorData tensor(JsonNode o) {
        String name = o.path("name").asText();
        String type = o.path("datatype").asText();
        DType dtype = switch (type) {
            case "FP32" -> DType.FLOAT32;
            case "FP64" -> DType.FLOAT64;
            case "INT64" -> DType.INT64;
            case "INT32" -> DType.INT32;
            case "INT8" -> DType.INT8;
            case "UINT8" -> DType.UINT8;
            case "BOOL" -> DType.BOOL;
            default -> throw new TandemClientException(200, "Output '" + name + "' has datatype '" + type
                    + "', which the client does not read", null);
        };
        int[] dims = new int[o.path("shape").size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = o.path("shape").get(i).asInt();
        }
        JsonNode data = o.path("data");
        int n = data.size();
        Object values = switch (dtype) {
            case FLOAT32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) data.get(i).asDouble();
                }
                yield f;
            }
            case FLOAT64 -> {
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    d[i] = data.get(i).asDouble();
                }
                yield d;
            }
            default -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = data.get(i).isBoolean() ? (data.get(i).asBoolean() ? 1 : 0) : data.get(i).asLong();
                }
                yield l;
            }
        };
        try {
            return new TensorData(name, dtype, Shape.of(dims), values);
        } catch (IllegalArgumentException e) {
            throw new TandemClientException(200, "Malformed output from the server: " + e.getMessage(), e);
        }
    }

    // ---- transport

    /** Sends with retries; answers the JSON body of a 200. */
    private JsonNode call(HttpRequest.Builder request) {
        byte[] body = send(request);
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new TandemClientException(200, "The server's answer is not JSON: " + e.getMessage(), e);
        }
    }

    // ---- for the model updater (same token, timeout and retries)

    /** The model this client asks for. */
    String model() {
        return model;
    }

    /** GET {@code path} with retries; the JSON of a 200. */
    JsonNode getJson(String path) {
        return call(HttpRequest.newBuilder(server.resolve(path)).GET());
    }

    /** GET {@code path} with retries; the body of a 200. */
    byte[] getBytes(String path) {
        return send(HttpRequest.newBuilder(server.resolve(path)).GET());
    }

    /**
     * GET {@code path} once, the body as a stream (a large download: the caller reads and closes it). The timeout
     * covers the answer's headers; the caller guards the body.
     */
    HttpResponse<java.io.InputStream> openStream(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.resolve(path)).GET().timeout(timeout);
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpRequest r = b.build();
        HttpResponse<java.io.InputStream> res;
        try {
            res = http.send(r, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new TandemClientException(0, "No answer from " + r.uri() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemClientException(0, "Interrupted while calling " + r.uri(), e);
        }
        if (res.statusCode() != 200) {
            byte[] body;
            try (java.io.InputStream in = res.body()) {
                body = in.readNBytes(4096);
            } catch (IOException e) {
                body = new byte[0];
            }
            throw new TandemClientException(res.statusCode(), "The server answered " + res.statusCode() + ": "
                    + error(body), null);
        }
        return res;
    }

    /** Sends with retries; answers the body of a 200. */
    private byte[] send(HttpRequest.Builder request) {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        request.timeout(timeout);
        HttpRequest r = request.build();
        long wait = backoff.toMillis();
        TandemClientException last = null;
        for (int attempt = 0; attempt <= retries; attempt++) {
            if (attempt > 0) {
                sleep(wait);
                wait = Math.min(MAX_WAIT.toMillis(), wait * 2);
            }
            HttpResponse<byte[]> res;
            try {
                res = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                last = new TandemClientException(0, "No answer from " + r.uri() + ": " + e, e);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TandemClientException(0, "Interrupted while calling " + r.uri(), e);
            }
            int status = res.statusCode();
            if (status == 200) {
                return res.body();
            }
            last = new TandemClientException(status, "The server answered " + status + ": " + error(res.body()), null);
            if (status != 429 && status != 502 && status != 503 && status != 504) {
                throw last;
            }
            long retryAfter = res.headers().firstValueAsLong("Retry-After").orElse(0) * 1000;
            wait = Math.min(MAX_WAIT.toMillis(), Math.max(wait, retryAfter));
        }
        throw new TandemClientException(last.status(), last.getMessage() + " (after " + (retries + 1)
                + " attempts)", last.getCause());
    }

    private static String error(byte[] body) {
        try {
            JsonNode j = JSON.readTree(body);
            if (j != null && j.has("error")) {
                return j.get("error").asText();
            }
        } catch (IOException e) {
            // Not JSON: shown as text below.
        }
        String s = new String(body, StandardCharsets.UTF_8);
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemClientException(0, "Interrupted while waiting to retry", e);
        }
    }

    /** Closes the HTTP client (the local classifier stays open: it is the caller's). */
    @Override
    public void close() {
        http.close();
    }

    /**
     * Client options. Defaults: no token, 10 s per attempt, 2 retries, 100 ms first backoff, no local model,
     * threshold 0.8, top 5.
     */
    public static final class Builder {
        private final URI server;
        private final String model;
        private Long version;
        private String token;
        private Duration timeout = Duration.ofSeconds(10);
        private int retries = 2;
        private Duration backoff = Duration.ofMillis(100);
        private Classifier local;
        private ModelUpdater updater;
        private double threshold = 0.8;
        private int topK = 5;

        private Builder(URI server, String model) {
            this.server = Objects.requireNonNull(server, "server");
            this.model = Objects.requireNonNull(model, "model");
        }

        /** Asks for this version only (default: whichever serves). */
        public Builder version(long v) {
            this.version = v;
            return this;
        }

        /** The bearer token sent with every call. */
        public Builder token(String t) {
            this.token = t;
            return this;
        }

        /** Longest one attempt may take (connecting included). */
        public Builder timeout(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("timeout must be > 0; got " + d);
            }
            this.timeout = d;
            return this;
        }

        /** Attempts after the first, for calls that got no answer or 429/502/503/504. */
        public Builder retries(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("retries must be >= 0; got " + n);
            }
            this.retries = n;
            return this;
        }

        /** The wait before the first retry; it doubles for each next one (at most 5 s). */
        public Builder backoff(Duration d) {
            this.backoff = Objects.requireNonNull(d, "backoff");
            return this;
        }

        /** The local model of the cascade (the caller keeps ownership). */
        public Builder localModel(Classifier c) {
            this.local = c;
            this.updater = null;
            return this;
        }

        /**
         * The local model of the cascade is whichever version the updater has installed (none: every image goes to
         * the server); local answers then carry that version. The caller keeps ownership of the updater.
         */
        public Builder localModel(ModelUpdater u) {
            this.updater = u;
            this.local = null;
            return this;
        }

        /** The local top-1 probability at or above which the cascade answers locally. */
        public Builder threshold(double t) {
            if (!(t >= 0 && t <= 1)) {
                throw new IllegalArgumentException("threshold must be in [0, 1]; got " + t);
            }
            this.threshold = t;
            return this;
        }

        /** Classes per classification. */
        public Builder topK(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("top-k must be >= 1; got " + k);
            }
            this.topK = k;
            return this;
        }

        public TandemClient build() {
            return new TandemClient(this);
        }
    }
}
