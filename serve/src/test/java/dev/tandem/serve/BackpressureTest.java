package dev.tandem.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A full queue over HTTP: refused at once with 429 and Retry-After; every request admitted is answered. */
class BackpressureTest {
    @TempDir
    Path dir;

    @Test
    void aFullQueueAnswers429AndTheAdmittedRequestsSucceed() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(8));
        // A large image makes each classification slow (resizing it happens in the batch worker).
        byte[] big = TestRepo.png(2000, 2000, 9);
        try (ModelServer server = ModelServer.builder(repo).port(0).threads(1).maxBatch(1)
                .maxDelay(Duration.ZERO).queueCapacity(1).build().start()) {
            Http http = new Http(server.uri(), null);
            int clients = 12;
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                replies.add(pool.submit(() -> {
                    go.await();
                    return http.post("/v1/models/digits:classify", big);
                }));
            }
            go.countDown();
            int ok = 0;
            int refused = 0;
            for (Future<Http.Reply> f : replies) {
                Http.Reply r = f.get(120, TimeUnit.SECONDS);
                if (r.status() == 200) {
                    ok++;
                    assertThat(r.json().at("/predictions/0/label").asText()).isEqualTo("eight");
                } else {
                    assertThat(r.status()).as(r.body()).isEqualTo(429);
                    assertThat(r.error()).contains("Too many requests");
                    assertThat(r.raw().headers().firstValue("Retry-After")).hasValue("1");
                    refused++;
                }
            }
            pool.shutdown();
            assertThat(ok).isGreaterThanOrEqualTo(1);
            assertThat(refused).isGreaterThanOrEqualTo(1);
            assertThat(http.get("/metrics").body()).containsPattern(
                    "tandem_http_requests_total\\{route=\"/v1/models/\\{model}:classify\",status=\"429\"} [1-9]");
        }
    }
}
