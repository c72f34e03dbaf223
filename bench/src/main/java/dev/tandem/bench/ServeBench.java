package dev.tandem.bench;

import dev.tandem.runtime.classify.Classifier;
import dev.tandem.serve.ModelServer;
import dev.tandem.train.ModelExport;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import javax.imageio.ImageIO;

/**
 * Serving throughput and latency of a FashionNet-shaped classifier (1×28×28 → 10): {@code POST
 * /v1/models/fashion:classify} with a PNG body at concurrency 1, 8 and 32, with batching off (max batch 1) and on
 * (max batch 8, max delay 2 ms), against in-process {@link Classifier#classify(byte[])} of the same bytes (decode,
 * preprocess, run, softmax) on the same threads. The load generator is java.net.http in the same JVM, sharing the
 * machine's cores with the server, as a co-located client would.
 *
 * <pre>
 * ./mvnw -B -q -DskipTests package -pl bench -am
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.tandem.bench.ServeBench [seconds]
 * </pre>
 */
public final class ServeBench {
    private ServeBench() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
        int threads = Runtime.getRuntime().availableProcessors();
        Path dir = Files.createTempDirectory("tandem-serve-bench");
        Path model = dir.resolve("repo/fashion/1/model.onnx");
        Files.createDirectories(model.getParent());
        try (Module m = Zoo.create("fashionnet", 1, 28, 28, 10)) {
            m.resetParameters(7);
            ModelExport.write(m, new int[] {1, 28, 28}, List.of("t-shirt", "trouser", "pullover", "dress", "coat",
                    "sandal", "shirt", "sneaker", "bag", "boot"), new Normalize(new float[] {0.286f},
                    new float[] {0.353f}), Map.of(), model);
        }
        byte[] png = png();
        System.out.printf(Locale.ROOT, "FashionNet %d bytes, image %d bytes, %d threads, %s, Java %s%n",
                Files.size(model), png.length, threads, System.getProperty("os.arch"), Runtime.version());

        // In process: the same bytes through the same pipeline, one caller.
        double[] local;
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withThreads(threads))) {
            local = measure(seconds, 1, () -> {
                if (c.classify(png).isEmpty()) {
                    throw new IllegalStateException("no predictions");
                }
            });
        }
        System.out.println("| mode | concurrency | requests/s | p50 ms | p99 ms | errors |");
        System.out.println("|---|---|---|---|---|---|");
        row("in-process Classifier", 1, local, 0);

        double[] serverC1 = null;
        for (int maxBatch : new int[] {1, 8}) {
            try (ModelServer server = ModelServer.builder(dir.resolve("repo")).port(0).threads(threads)
                    .maxBatch(maxBatch).maxDelay(Duration.ofMillis(2)).queueCapacity(256).build().start();
                 HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                URI uri = server.uri().resolve("/v1/models/fashion:classify");
                if (maxBatch == 1) {
                    // The HTTP floor: a request that runs no model (client, connection, routing, JSON).
                    URI live = server.uri().resolve("/v2/health/live");
                    AtomicLong errors = new AtomicLong();
                    double[] r = measure(seconds, 1, () -> {
                        if (http.send(HttpRequest.newBuilder(live).build(), HttpResponse.BodyHandlers.ofByteArray())
                                .statusCode() != 200) {
                            errors.incrementAndGet();
                        }
                    });
                    row("server, GET /v2/health/live (no model)", 1, r, errors.get());
                }
                for (int conc : new int[] {1, 8, 32}) {
                    AtomicLong errors = new AtomicLong();
                    double[] r = measure(seconds, conc, () -> {
                        HttpResponse<byte[]> res = http.send(HttpRequest.newBuilder(uri)
                                .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png))
                                .build(), HttpResponse.BodyHandlers.ofByteArray());
                        if (res.statusCode() != 200) {
                            errors.incrementAndGet();
                        }
                    });
                    row(maxBatch == 1 ? "server, batching off" : "server, batching on (max 8, 2 ms)", conc, r,
                            errors.get());
                    if (maxBatch == 1 && conc == 1) {
                        serverC1 = r;
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "%nserver overhead at concurrency 1 (batching off), from the table: p50 %+.3f ms,"
                + " mean %+.3f ms%n", serverC1[1] - local[1], serverC1[3] - local[3]);
        overhead(dir.resolve("repo"), model, png, threads);
    }

    /**
     * Server overhead at concurrency 1, robust to a machine whose load drifts: in-process and server runs
     * alternate in short rounds, and the median of the per-round differences of the p50s is reported.
     */
    private static void overhead(Path repo, Path model, byte[] png, int threads) throws Exception {
        int rounds = 7;
        double[] diff = new double[rounds];
        double[] localP50 = new double[rounds];
        double[] serverP50 = new double[rounds];
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withThreads(threads));
             ModelServer server = ModelServer.builder(repo).port(0).threads(threads).maxBatch(1).build().start();
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            URI uri = server.uri().resolve("/v1/models/fashion:classify");
            Call local = () -> c.classify(png);
            Call remote = () -> http.send(HttpRequest.newBuilder(uri).header("Content-Type", "image/png")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray());
            run(2, 1, local, null);
            run(2, 1, remote, null);
            for (int i = 0; i < rounds; i++) {
                localP50[i] = measureOnly(2, local);
                serverP50[i] = measureOnly(2, remote);
                diff[i] = serverP50[i] - localP50[i];
            }
        }
        Arrays.sort(diff);
        Arrays.sort(localP50);
        Arrays.sort(serverP50);
        System.out.printf(Locale.ROOT, "server overhead at concurrency 1 (batching off), %d alternating 2 s rounds: "
                + "median p50 in-process %.3f ms, server %.3f ms; median difference %+.3f ms (range %+.3f to %+.3f)%n",
                rounds, localP50[rounds / 2], serverP50[rounds / 2], diff[rounds / 2], diff[0], diff[rounds - 1]);
    }

    private static double measureOnly(int seconds, Call call) throws Exception {
        List<long[]> lat = new ArrayList<>();
        run(seconds, 1, call, lat);
        long[] all = lat.stream().flatMapToLong(Arrays::stream).filter(v -> v > 0).sorted().toArray();
        return all[all.length / 2] / 1e6;
    }

    @FunctionalInterface
    private interface Call {
        void run() throws Exception;
    }

    /** Warms up for {@code seconds}/2, then runs {@code conc} callers for {@code seconds}: req/s, p50, p99, mean. */
    private static double[] measure(int seconds, int conc, Call call) throws Exception {
        run(Math.max(2, seconds / 2), conc, call, null);
        List<long[]> lat = new ArrayList<>();
        long n = run(seconds, conc, call, lat);
        long[] all = lat.stream().flatMapToLong(Arrays::stream).filter(v -> v > 0).sorted().toArray();
        double mean = Arrays.stream(all).average().orElse(0) / 1e6;
        return new double[] {n / (double) seconds, all[all.length / 2] / 1e6,
                all[Math.min(all.length - 1, (int) Math.ceil(all.length * 0.99) - 1)] / 1e6, mean};
    }

    private static long run(int seconds, int conc, Call call, List<long[]> latencies) throws Exception {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        AtomicLong count = new AtomicLong();
        CountDownLatch done = new CountDownLatch(conc);
        Throwable[] failure = new Throwable[1];
        for (int t = 0; t < conc; t++) {
            long[] mine = new long[500_000];
            if (latencies != null) {
                synchronized (latencies) {
                    latencies.add(mine);
                }
            }
            Thread.ofPlatform().daemon().start(() -> {
                int i = 0;
                try {
                    while (System.nanoTime() < until) {
                        long t0 = System.nanoTime();
                        call.run();
                        if (i < mine.length) {
                            mine[i++] = System.nanoTime() - t0;
                        }
                        count.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        if (failure[0] != null) {
            throw new IllegalStateException("A call failed", failure[0]);
        }
        return count.get();
    }

    private static void row(String mode, int conc, double[] r, long errors) {
        System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %.3f | %.3f | %d |%n", mode, conc, r[0], r[1], r[2], errors);
    }

    private static byte[] png() throws Exception {
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        Random rnd = new Random(3);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                img.getRaster().setSample(x, y, 0, rnd.nextInt(256));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
