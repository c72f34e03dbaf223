package dev.tandem.serve.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.serve.ModelServer;
import dev.tandem.serve.ServeTestSupport;
import dev.tandem.serve.batch.TensorData;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device client against a real server on loopback, and against a stub that fails on purpose. */
class TandemClientTest {
    @TempDir
    static Path dir;
    private static ModelServer server;
    private static Path localModel;

    @BeforeAll
    static void start() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        ServeTestSupport.writeClassifier(repo, "digits", 1, 2);
        ServeTestSupport.writeAdder(repo, "adder", 1);
        Path local = Files.createDirectories(dir.resolve("local"));
        localModel = ServeTestSupport.writeClassifier(local, "digits", 1, 7);
        server = ModelServer.builder(repo).port(0).tokens(List.of("tok")).threads(2).build().start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static TandemClient.Builder client(String model) {
        return TandemClient.builder(server.uri(), model).token("tok").backoff(Duration.ofMillis(10));
    }

    @Test
    void classifiesAndInfersRemotely() {
        try (TandemClient c = client("digits").topK(2).build()) {
            Classification r = c.classify(ServeTestSupport.png());
            assertThat(r.source()).isEqualTo(Classification.Source.REMOTE);
            assertThat(r.modelVersion()).isEqualTo("1");
            assertThat(r.predictions()).hasSize(2);
            assertThat(r.top().label()).isEqualTo("two");
        }
        try (TandemClient c = client("adder").version(1).build()) {
            TandemClient.InferResult r = c.infer(List.of(new TensorData("x", DType.INT64, Shape.of(1, 3),
                    new long[] {5, 6, 7})));
            assertThat(r.modelVersion()).isEqualTo("1");
            assertThat((long[]) r.output("y").data()).containsExactly(6, 8, 10);
            assertThat(r.output("y").shape()).isEqualTo(Shape.of(1, 3));
        }
    }

    @Test
    void theCascadeAnswersLocallyWhenSureAndAsksTheServerOtherwise() {
        try (Classifier local = Classifier.load(localModel)) {
            try (TandemClient c = client("digits").localModel(local).threshold(0.5).build()) {
                Classification r = c.cascade(ServeTestSupport.png());
                assertThat(r.source()).isEqualTo(Classification.Source.LOCAL);
                assertThat(r.top().label()).isEqualTo("seven");
                assertThat(r.modelVersion()).isNull();
            }
            try (TandemClient c = client("digits").localModel(local).threshold(1.0).build()) {
                Classification r = c.cascade(ServeTestSupport.png());
                assertThat(r.source()).isEqualTo(Classification.Source.REMOTE);
                assertThat(r.top().label()).isEqualTo("two");
            }
            // The server refuses (wrong token): the unsure local answer is returned, saying why.
            try (TandemClient c = client("digits").token("wrong").localModel(local).threshold(1.0).build()) {
                Classification r = c.cascade(ServeTestSupport.png());
                assertThat(r.source()).isEqualTo(Classification.Source.LOCAL_FALLBACK);
                assertThat(r.top().label()).isEqualTo("seven");
                assertThat(r.remoteError()).contains("401");
            }
        }
        try (TandemClient c = client("digits").build()) {
            assertThat(c.cascade(ServeTestSupport.png()).source()).isEqualTo(Classification.Source.REMOTE);
        }
    }

    @Test
    void clientErrorsAreNotRetried() {
        try (TandemClient c = client("nope").build()) {
            assertThatThrownBy(() -> c.classify(ServeTestSupport.png())).isInstanceOf(TandemClientException.class)
                    .hasMessageContaining("404").hasMessageContaining("Unknown model 'nope'")
                    .satisfies(e -> assertThat(((TandemClientException) e).status()).isEqualTo(404));
        }
    }

    @Test
    void retriesOverloadAndTimeoutsThenGivesUp() throws IOException {
        AtomicInteger calls = new AtomicInteger();
        HttpServer stub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        stub.createContext("/", ex -> {
            int n = calls.incrementAndGet();
            byte[] body;
            int status;
            if (ex.getRequestURI().getPath().contains("slow")) {
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                status = 200;
                body = "{}".getBytes(StandardCharsets.UTF_8);
            } else if (n < 3) {
                status = n == 1 ? 503 : 429;
                body = "{\"error\":\"busy\"}".getBytes(StandardCharsets.UTF_8);
            } else {
                status = 200;
                body = ("{\"model_name\":\"m\",\"model_version\":\"4\",\"predictions\":"
                        + "[{\"label\":\"cat\",\"index\":3,\"probability\":0.9}]}").getBytes(StandardCharsets.UTF_8);
            }
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        stub.start();
        URI base = URI.create("http://127.0.0.1:" + stub.getAddress().getPort());
        try {
            try (TandemClient c = TandemClient.builder(base, "m").backoff(Duration.ofMillis(5)).retries(2).build()) {
                Classification r = c.classify(new byte[] {1});
                assertThat(r.top().label()).isEqualTo("cat");
                assertThat(r.modelVersion()).isEqualTo("4");
                assertThat(calls.get()).isEqualTo(3);
            }
            calls.set(0);
            try (TandemClient c = TandemClient.builder(base, "slow").timeout(Duration.ofMillis(200))
                    .backoff(Duration.ofMillis(5)).retries(1).build()) {
                assertThatThrownBy(() -> c.classify(new byte[] {1})).isInstanceOf(TandemClientException.class)
                        .hasMessageContaining("No answer").hasMessageContaining("after 2 attempts")
                        .satisfies(e -> assertThat(((TandemClientException) e).status()).isZero());
            }
        } finally {
            stub.stop(0);
        }
        // Nobody listening: refused, retried, then reported.
        try (TandemClient c = TandemClient.builder(base, "m").backoff(Duration.ofMillis(5)).retries(1).build()) {
            assertThatThrownBy(() -> c.classify(new byte[] {1})).isInstanceOf(TandemClientException.class)
                    .hasMessageContaining("after 2 attempts");
        }
    }
}
