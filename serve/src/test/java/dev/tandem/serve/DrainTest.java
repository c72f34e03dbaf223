package dev.tandem.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Graceful drain: readiness fails first, requests in flight complete, new ones are refused, then it stops. */
class DrainTest {
    @TempDir
    Path dir;

    @Test
    void closeFailsReadinessFirstAndLetsRequestsInFlightComplete() throws Exception {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(6));
        // A long batching delay keeps requests in flight long enough to close the server under them.
        ModelServer server = ModelServer.builder(repo).port(0).threads(2).maxBatch(64)
                .maxDelay(Duration.ofMillis(2500)).build().start();
        Http http = new Http(server.uri(), null);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            inFlight.add(client.sendAsync(http.request("/v2/models/digits/infer")
                            .POST(HttpRequest.BodyPublishers.ofString(Http.infer("x", new int[] {1, 1, 28, 28}, 1f)))
                            .build(), HttpResponse.BodyHandlers.ofString()));
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.inFlight() < 4 && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertThat(server.inFlight()).isEqualTo(4);
        // Counted in flight is not yet past the drain check: give the handlers time to reach the batch (which
        // waits 2.5 s), or a loaded machine sees one refused as if it had arrived after the close.
        Thread.sleep(300);

        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
        until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.isReady() && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        // Draining: not ready, new inference refused, the requests in flight still waiting for their batch.
        Http.Reply ready = http.get("/v2/health/ready");
        assertThat(ready.status()).isEqualTo(503);
        assertThat(http.get("/v2/health/live").status()).isEqualTo(200);
        Http.Reply refused = http.post("/v2/models/digits/infer", Http.infer("x", new int[] {1, 1, 28, 28}, 1f));
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.error()).contains("shutting down");
        assertThat(inFlight).noneMatch(CompletableFuture::isDone);

        closing.get(30, TimeUnit.SECONDS);
        for (CompletableFuture<HttpResponse<String>> f : inFlight) {
            HttpResponse<String> r = f.get(5, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("\"model_version\":\"1\"");
        }
        assertThat(server.repository().openVersions()).isZero();
        assertThatThrownBy(() -> http.get("/v2/health/live"))
                .isInstanceOf(UncheckedIOException.class);
        server.close();
    }
}
