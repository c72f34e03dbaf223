package dev.tandem.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end over loopback with a real HTTP client: health, metadata, tensor inference (FP32 and INT64),
 * classification, auth, and every kind of bad request answered with a clear 4xx while the server goes on serving.
 */
class ModelServerTest {
    private static final String TOKEN = "s3cret-token";

    @TempDir
    static Path dir;
    private static ModelServer server;
    private static Http http;

    @BeforeAll
    static void start() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(7));
        TestRepo.write(repo, "adder", 1, TestRepo.adder());
        Path tokens = dir.resolve("tokens");
        Files.writeString(tokens, "# serving tokens\n\nother-token\n  " + TOKEN + "  \n");
        server = ModelServer.builder(repo).port(0).tokenFile(tokens).threads(2).maxRequestBytes(256 * 1024)
                .build().start();
        http = new Http(server.uri(), TOKEN);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static double logit(int c, int winner) {
        // conv of a constant image = its bias (0.01, 0.02): 676 of each after relu, summing to 20.28.
        return 0.001 * (c + 1) * 676 * 0.03 + (c == winner ? 10 : 0);
    }

    @Test
    void bindsLoopbackByDefault() {
        assertThat(server.host()).isEqualTo("127.0.0.1");
        assertThat(server.uri().toString()).startsWith("http://127.0.0.1:");
    }

    @Test
    void livenessNeedsNoTokenEverythingElseDoes() {
        Http anonymous = http.withToken(null);
        assertThat(anonymous.get("/v2/health/live").status()).isEqualTo(200);
        assertThat(anonymous.get("/v2/health/live").json().get("live").asBoolean()).isTrue();
        for (String path : List.of("/v2/health/ready", "/v2", "/v2/models/digits", "/metrics")) {
            Http.Reply r = anonymous.get(path);
            assertThat(r.status()).as(path).isEqualTo(401);
            assertThat(r.error()).contains("bearer token");
            assertThat(r.raw().headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                    v -> assertThat(v).startsWith("Bearer"));
        }
        Http.Reply wrong = http.withToken(TOKEN + "x").post("/v2/models/digits/infer",
                Http.infer("x", new int[] {1, 1, 28, 28}, 1f));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(http.withToken("other-token").get("/v2/health/ready").status()).isEqualTo(200);
        assertThat(http.get("/v2/health/ready").json().get("ready").asBoolean()).isTrue();
    }

    @Test
    void serverAndModelMetadata() {
        JsonNode s = http.get("/v2").json();
        assertThat(s.get("name").asText()).isEqualTo("tandem");
        JsonNode m = http.get("/v2/models/digits").json();
        assertThat(m.get("name").asText()).isEqualTo("digits");
        assertThat(m.get("versions").toString()).isEqualTo("[\"1\"]");
        assertThat(m.get("platform").asText()).isEqualTo("onnx");
        assertThat(m.get("inputs").get(0).toString())
                .isEqualTo("{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,1,28,28]}");
        assertThat(m.get("outputs").get(0).toString())
                .isEqualTo("{\"name\":\"logits\",\"datatype\":\"FP32\",\"shape\":[-1,10]}");
        assertThat(m.at("/tandem/classifier").asBoolean()).isTrue();
        assertThat(m.at("/tandem/labels/7").asText()).isEqualTo("seven");
        assertThat(http.get("/v2/models/digits/versions/1").status()).isEqualTo(200);
        assertThat(http.get("/v2/models/digits/ready").status()).isEqualTo(200);
        assertThat(http.get("/v2/models/digits/versions/1/ready").json().get("ready").asBoolean()).isTrue();

        Http.Reply unknown = http.get("/v2/models/nope");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.error()).contains("Unknown model 'nope'").contains("digits");
        assertThat(http.get("/v2/models/digits/versions/2/ready").status()).isEqualTo(404);
        assertThat(http.get("/v2/models/digits/versions/abc").status()).isEqualTo(404);
        Http.Reply noRoute = http.get("/v3/whatever");
        assertThat(noRoute.status()).isEqualTo(404);
        assertThat(noRoute.error()).contains("No endpoint GET /v3/whatever");
    }

    @Test
    void infersFp32TensorsInABatch() {
        Http.Reply r = http.post("/v2/models/digits/infer", Http.infer("x", new int[] {2, 1, 28, 28}, 0.5f)
                .replace("{\"inputs\"", "{\"id\":\"req-1\",\"inputs\""));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("model_name").asText()).isEqualTo("digits");
        assertThat(j.get("model_version").asText()).isEqualTo("1");
        assertThat(j.get("id").asText()).isEqualTo("req-1");
        JsonNode out = j.get("outputs").get(0);
        assertThat(out.get("name").asText()).isEqualTo("logits");
        assertThat(out.get("datatype").asText()).isEqualTo("FP32");
        assertThat(out.get("shape").toString()).isEqualTo("[2,10]");
        assertThat(out.get("data")).hasSize(20);
        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 10; c++) {
                assertThat(out.get("data").get(n * 10 + c).asDouble()).isCloseTo(logit(c, 7), within(1e-4));
            }
        }
        // Nested data is flattened; outputs may be named.
        String nested = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,1,28,28],\"data\":"
                + "[[" + "[" + "1,".repeat(783) + "1]" + "]]}],\"outputs\":[{\"name\":\"logits\"}]}";
        Http.Reply n = http.post("/v2/models/digits/versions/1/infer", nested);
        assertThat(n.status()).as(n.body()).isEqualTo(200);
        assertThat(n.json().at("/outputs/0/data/7").asDouble()).isCloseTo(logit(7, 7), within(1e-4));
    }

    @Test
    void infersInt64Tensors() {
        Http.Reply r = http.post("/v2/models/adder/infer", "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT64\","
                + "\"shape\":[2,3],\"data\":[10,20,30,9007199254740993,-5,0]}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode out = r.json().get("outputs").get(0);
        assertThat(out.get("datatype").asText()).isEqualTo("INT64");
        assertThat(out.get("shape").toString()).isEqualTo("[2,3]");
        assertThat(out.get("data").toString()).isEqualTo("[11,22,33,9007199254740994,-3,3]");
    }

    @Test
    void classifiesAnImage() {
        Http.Reply r = http.post("/v1/models/digits:classify?top=3", TestRepo.png(40, 30, 100));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("model_version").asText()).isEqualTo("1");
        JsonNode p = j.get("predictions");
        assertThat(p).hasSize(3);
        assertThat(p.get(0).get("label").asText()).isEqualTo("seven");
        assertThat(p.get(0).get("index").asInt()).isEqualTo(7);
        assertThat(p.get(0).get("probability").asDouble()).isGreaterThan(0.99);
        assertThat(http.post("/v1/models/digits/versions/1:classify", TestRepo.png(28, 28, 0)).json()
                .at("/predictions").size()).isEqualTo(5);
    }

    @Test
    void badRequestsGetClearErrorsAndDisturbNothing() {
        record Case(String what, Http.Reply reply, int status, String message) {
        }
        String ok = Http.infer("x", new int[] {1, 1, 28, 28}, 1f);
        List<Case> cases = List.of(
                new Case("malformed JSON", http.post("/v2/models/digits/infer", "{\"inputs\": [ {\"name\": "), 400,
                        "Malformed JSON"),
                new Case("not an object", http.post("/v2/models/digits/infer", "[1,2]"), 400, "JSON object"),
                new Case("wrong shape", http.post("/v2/models/digits/infer",
                        Http.infer("x", new int[] {1, 1, 28, 27}, 1f)), 400,
                        "Input 'x' must have shape float32[batch,1,28,28]; got [1, 1, 28, 27]"),
                new Case("data not matching shape", http.post("/v2/models/digits/infer",
                        ok.replace("\"shape\":[1,1,28,28]", "\"shape\":[1,1,28,29]")), 400, "784 values but shape"),
                new Case("wrong datatype", http.post("/v2/models/digits/infer", ok.replace("FP32", "INT64")), 400,
                        "is not a INT64 integer"),
                new Case("unsupported datatype", http.post("/v2/models/digits/infer", ok.replace("FP32", "FP16")),
                        400, "datatype 'FP16'"),
                new Case("unknown input", http.post("/v2/models/digits/infer", ok.replace("\"x\"", "\"y\"")), 400,
                        "Missing input 'x'"),
                new Case("unknown output", http.post("/v2/models/digits/infer",
                        ok.replace("]}]}", "]}],\"outputs\":[{\"name\":\"probs\"}]}")), 400, "Unknown output 'probs'"),
                new Case("string in data", http.post("/v2/models/digits/infer", ok.replace("[1.0,", "[\"a\",")), 400,
                        "is not a number"),
                new Case("oversize body", http.post("/v2/models/digits/infer", "{\"inputs\":[" + " ".repeat(300_000)
                        + "]}"), 413, "exceeds the limit of 262144 bytes"),
                new Case("oversize image", http.post("/v1/models/digits:classify", new byte[300_000]), 413,
                        "exceeds the limit"),
                new Case("not an image", http.post("/v1/models/digits:classify", "not an image".getBytes()), 400,
                        "not an image"),
                new Case("bad top", http.post("/v1/models/digits:classify?top=0", TestRepo.png(28, 28, 0)), 400,
                        "top must be"),
                new Case("not a classifier", http.post("/v1/models/adder:classify", TestRepo.png(28, 28, 0)), 400,
                        "not an image classifier"),
                new Case("management off", http.post("/v2/repository/reload", "{}"), 404,
                        "management endpoints are off"));
        for (Case c : cases) {
            assertThat(c.reply().status()).as(c.what() + ": " + c.reply().body()).isEqualTo(c.status());
            assertThat(c.reply().error()).as(c.what()).contains(c.message());
            assertThat(c.reply().raw().headers().firstValue("Content-Type")).hasValue("application/json");
        }
        // The server is undisturbed.
        Http.Reply after = http.post("/v2/models/digits/infer", ok);
        assertThat(after.status()).isEqualTo(200);
        assertThat(after.json().at("/outputs/0/data/7").asDouble()).isCloseTo(logit(7, 7), within(1e-4));
    }

    @Test
    void requestTimeoutGives504() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("timeout-repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(2));
        try (ModelServer s = ModelServer.builder(repo).port(0).threads(1)
                .requestTimeout(java.time.Duration.ofNanos(1)).build().start()) {
            Http h = new Http(s.uri(), null);
            Http.Reply r = h.post("/v2/models/digits/infer", Http.infer("x", new int[] {1, 1, 28, 28}, 1f));
            assertThat(r.status()).as(r.body()).isEqualTo(504);
            assertThat(r.error()).contains("timed out", "request timeout");
            assertThat(h.get("/v2/health/ready").status()).as("no token configured").isEqualTo(200);
        }
    }

    @Test
    void metricsInPrometheusFormat() {
        http.post("/v2/models/digits/infer", Http.infer("x", new int[] {1, 1, 28, 28}, 1f));
        http.withToken("bad").get("/v2/health/ready");
        Http.Reply r = http.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.raw().headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
        assertThat(r.body())
                .contains("# TYPE tandem_http_requests_total counter")
                .containsPattern("tandem_http_requests_total\\{route=\"/v2/models/\\{model}/infer\",status=\"200\"} "
                        + "[1-9]")
                .containsPattern("tandem_http_requests_total\\{route=\"/v2/health/ready\",status=\"401\"} [1-9]")
                .contains("# TYPE tandem_http_request_duration_seconds histogram")
                .contains("tandem_http_request_duration_seconds_bucket{route=\"/v2/models/{model}/infer\",le=\"+Inf\"}")
                .containsPattern("tandem_batch_size_count\\{model=\"digits\"} [1-9]")
                .contains("tandem_queue_depth{model=\"digits\",version=\"1\"} 0")
                .contains("tandem_model_loaded{model=\"adder\",version=\"1\"} 1")
                .contains("tandem_model_loaded{model=\"digits\",version=\"1\"} 1")
                .contains("tandem_ready 1");
    }

    @Test
    void aPortInUseFailsStartWithoutLeavingAnythingRunning() {
        ModelServer second = ModelServer.builder(dir.resolve("repo")).port(server.port()).threads(1).build();
        assertThatThrownBy(second::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Cannot listen on 127.0.0.1:" + server.port());
        assertThat(second.repository().openVersions()).isZero();
        second.close();
        assertThat(http.get("/v2/health/ready").status()).isEqualTo(200);
    }

    @Test
    void refusesAMissingRepositoryOrAnEmptyTokenFile() throws IOException {
        assertThatThrownBy(() -> ModelServer.builder(dir.resolve("missing")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a folder");
        Path empty = Files.writeString(dir.resolve("empty-tokens"), "# nothing\n\n");
        assertThatThrownBy(() -> ModelServer.builder(dir).tokenFile(empty).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no token");
    }
}
