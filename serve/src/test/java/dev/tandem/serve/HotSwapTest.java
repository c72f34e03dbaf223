package dev.tandem.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Versions changing under traffic: a bounded load test with a hot swap in the middle, corrupt models dropped in,
 * pinning, and the directory watch.
 */
class HotSwapTest {
    @TempDir
    Path dir;

    private static final int REQUESTS = 2000;
    private static final int CONCURRENCY = 16;

    private static int argmax(JsonNode data, int from) {
        int best = 0;
        for (int c = 1; c < 10; c++) {
            if (data.get(from + c).asDouble() > data.get(from + best).asDouble()) {
                best = c;
            }
        }
        return best;
    }

    @Test
    void loadTestWithAHotSwapInTheMiddleHasNoErrors() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(1));
        try (ModelServer server = ModelServer.builder(repo).port(0).tokens(List.of("t")).management(true)
                .threads(2).maxBatch(8).maxDelay(Duration.ofMillis(1)).queueCapacity(256).build().start()) {
            Http http = new Http(server.uri(), "t");
            String tensor = Http.infer("x", new int[] {1, 1, 28, 28}, 0.25f);
            byte[] image = TestRepo.png(28, 28, 30);
            AtomicInteger next = new AtomicInteger();
            AtomicLong swappedAt = new AtomicLong(Long.MAX_VALUE);
            List<String> errors = new CopyOnWriteArrayList<>();
            Map<String, AtomicInteger> versions = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(CONCURRENCY);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < CONCURRENCY; w++) {
                workers.add(pool.submit(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < REQUESTS) {
                        if (i == REQUESTS / 2) {
                            // The hot swap: version 2 is dropped in and loaded while the other workers go on.
                            TestRepo.write(repo, "digits", 2, TestRepo.classifier(2));
                            Http.Reply r = http.post("/v2/repository/models/digits/load", "");
                            swappedAt.set(System.nanoTime());
                            if (r.status() != 200 || !r.body().contains("\"LOADED\"")) {
                                errors.add("reload: " + r.status() + " " + r.body());
                            }
                            continue;
                        }
                        long started = System.nanoTime();
                        boolean classify = i % 2 == 1;
                        Http.Reply r = classify ? http.post("/v1/models/digits:classify?top=1", image)
                                : http.post("/v2/models/digits/infer", tensor);
                        if (r.status() != 200) {
                            errors.add(i + ": " + r.status() + " " + r.body());
                            continue;
                        }
                        JsonNode j = r.json();
                        String version = j.get("model_version").asText();
                        versions.computeIfAbsent(version, k -> new AtomicInteger()).incrementAndGet();
                        int answer = classify ? j.at("/predictions/0/index").asInt()
                                : argmax(j.at("/outputs/0/data"), 0);
                        // Each version answers its own class: a request is served wholly by one version.
                        if (answer != Integer.parseInt(version)) {
                            errors.add(i + ": version " + version + " answered class " + answer);
                        }
                        if (started > swappedAt.get() && !version.equals("2")) {
                            errors.add(i + ": started after the swap but served by version " + version);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertThat(errors).isEmpty();
            assertThat(versions.keySet()).containsExactlyInAnyOrder("1", "2");
            assertThat(versions.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(REQUESTS - 1);
            // Version 1 was closed once its last request finished.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (server.repository().openVersions() > 1 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertThat(server.repository().openVersions()).isEqualTo(1);
            String metrics = http.get("/metrics").body();
            assertThat(metrics).contains("tandem_model_loaded{model=\"digits\",version=\"2\"} 1")
                    .doesNotContain("tandem_model_loaded{model=\"digits\",version=\"1\"}")
                    .containsPattern("tandem_http_requests_total\\{route=\"/v1/models/\\{model}:classify\","
                            + "status=\"200\"} 1000\n");
        }
    }

    @Test
    void aCorruptModelIsRefusedAndTheOldVersionKeepsServing() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(1));
        // At start: a model whose only version is corrupt, and one whose newest version is.
        TestRepo.writeCorrupt(repo, "broken", 1);
        TestRepo.write(repo, "fallback", 1, TestRepo.classifier(4));
        TestRepo.writeCorrupt(repo, "fallback", 2);
        try (ModelServer server = ModelServer.builder(repo).port(0).management(true).threads(2).build().start()) {
            Http http = new Http(server.uri(), null);
            assertThat(http.get("/v2/health/ready").status()).isEqualTo(200);
            Http.Reply broken = http.get("/v2/models/broken/ready");
            assertThat(broken.status()).isEqualTo(503);
            assertThat(broken.error()).contains("no loaded version", "failed");
            assertThat(http.post("/v1/models/fallback:classify", TestRepo.png(28, 28, 0)).json()
                    .get("model_version").asText()).isEqualTo("1");
            assertThat(http.get("/v2/models/fallback").json().at("/tandem/failed_versions/2").asText())
                    .isNotEmpty();

            // A corrupt version 2 dropped in: refused, reported, version 1 goes on.
            TestRepo.writeCorrupt(repo, "digits", 2);
            Http.Reply reload = http.post("/v2/repository/reload", "");
            assertThat(reload.status()).isEqualTo(200);
            JsonNode events = reload.json().get("events");
            assertThat(events).hasSize(1);
            assertThat(events.get(0).get("model").asText()).isEqualTo("digits");
            assertThat(events.get(0).get("version").asText()).isEqualTo("2");
            assertThat(events.get(0).get("action").asText()).isEqualTo("FAILED");
            assertThat(events.get(0).get("message").asText()).isNotBlank();
            Http.Reply r = http.post("/v1/models/digits:classify", TestRepo.png(28, 28, 0));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().get("model_version").asText()).isEqualTo("1");
            assertThat(http.get("/metrics").body()).contains("tandem_model_load_failures_total{model=\"digits\"} 1");
            // The same file is not tried again.
            assertThat(http.post("/v2/repository/reload", "").json().get("events")).isEmpty();

            // The file fixed: loaded on the next reload.
            TestRepo.write(repo, "digits", 2, TestRepo.classifier(2));
            JsonNode fixed = http.post("/v2/repository/models/digits/load", "").json();
            assertThat(fixed.at("/events/0/action").asText()).isEqualTo("LOADED");
            assertThat(fixed.at("/events/1/action").asText()).isEqualTo("UNLOADED");
            assertThat(http.post("/v1/models/digits:classify", TestRepo.png(28, 28, 0)).json()
                    .at("/predictions/0/label").asText()).isEqualTo("two");

            // A removed model folder unloads the model.
            deleteTree(repo.resolve("fallback"));
            http.post("/v2/repository/reload", "");
            assertThat(http.get("/v2/models/fallback").status()).isEqualTo(404);
        }
    }

    @Test
    void pinningServesAnOlderVersionUntilUnpinned() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(1));
        TestRepo.write(repo, "digits", 2, TestRepo.classifier(2));
        TestRepo.writeCorrupt(repo, "digits", 3);
        try (ModelServer server = ModelServer.builder(repo).port(0).management(true).threads(2).build().start()) {
            Http http = new Http(server.uri(), null);
            assertThat(http.get("/v2/models/digits").json().at("/tandem/serving_version").asText()).isEqualTo("2");
            Http.Reply pin = http.post("/v2/repository/models/digits/versions/1/pin", "");
            assertThat(pin.status()).as(pin.body()).isEqualTo(200);
            JsonNode m = http.get("/v2/models/digits").json();
            assertThat(m.at("/tandem/serving_version").asText()).isEqualTo("1");
            assertThat(m.at("/tandem/pinned_version").asText()).isEqualTo("1");
            assertThat(m.get("versions").toString()).isEqualTo("[\"1\",\"2\",\"3\"]");
            assertThat(http.get("/v2/models/digits/versions/2/ready").status()).isEqualTo(404);
            assertThat(http.post("/v2/repository/models/digits/versions/9/pin", "").status()).isEqualTo(404);
            Http.Reply bad = http.post("/v2/repository/models/digits/versions/3/pin", "");
            assertThat(bad.status()).isEqualTo(422);
            assertThat(bad.error()).contains("the pin was not kept");
            assertThat(http.get("/v2/models/digits").json().at("/tandem/serving_version").asText()).isEqualTo("1");
            // A reload keeps the pin.
            http.post("/v2/repository/reload", "");
            assertThat(http.get("/v2/models/digits/versions/1/ready").status()).isEqualTo(200);
            Http.Reply unpin = http.post("/v2/repository/models/digits/unpin", "");
            assertThat(unpin.status()).isEqualTo(200);
            assertThat(http.get("/v2/models/digits").json().at("/tandem/serving_version").asText()).isEqualTo("2");
        }
    }

    @Test
    void theWatchPicksUpANewVersion() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(1));
        try (ModelServer server = ModelServer.builder(repo).port(0).threads(2).watch(Duration.ofMillis(50))
                .build().start()) {
            Http http = new Http(server.uri(), null);
            TestRepo.write(repo, "digits", 5, TestRepo.classifier(5));
            TestRepo.write(repo, "letters", 1, TestRepo.classifier(3));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < until && (http.get("/v2/models/digits/versions/5/ready").status() != 200
                    || http.get("/v2/models/letters/ready").status() != 200)) {
                Thread.sleep(20);
            }
            assertThat(http.post("/v1/models/digits:classify", TestRepo.png(28, 28, 0)).json()
                    .at("/predictions/0/label").asText()).isEqualTo("five");
            assertThat(http.post("/v1/models/letters:classify", TestRepo.png(28, 28, 0)).json()
                    .at("/predictions/0/label").asText()).isEqualTo("three");
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
