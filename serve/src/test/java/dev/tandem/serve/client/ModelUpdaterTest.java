package dev.tandem.serve.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.serve.ModelServer;
import dev.tandem.serve.ServeTestSupport;
import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OTA updater against a real server: download, SHA-256 and Ed25519 checks, smoke test, atomic swap, rollback,
 * and the server's download endpoints it uses.
 */
class ModelUpdaterTest {
    private static final KeyPair KEYS = ModelSignatures.generateKeyPair();
    private static final KeyPair OTHER = ModelSignatures.generateKeyPair();

    @TempDir
    Path dir;
    private Path repo;
    private Path device;
    private ModelServer server;
    private TandemClient client;

    @BeforeEach
    void start() throws IOException {
        repo = Files.createDirectories(dir.resolve("repo"));
        device = dir.resolve("device");
        signed(ServeTestSupport.writeClassifier(repo, "digits", 1, 1), KEYS);
        server = ModelServer.builder(repo).port(0).tokens(List.of("tok")).threads(1).build().start();
        client = TandemClient.builder(server.uri(), "digits").token("tok").backoff(Duration.ofMillis(5)).build();
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
    }

    private static Path signed(Path model, KeyPair keys) throws IOException {
        ModelSignatures.signFile(keys.getPrivate(), model);
        return model;
    }

    private void publish(long version, int winner, KeyPair keys) throws IOException {
        signed(ServeTestSupport.writeClassifier(repo, "digits", version, winner), keys);
        server.repository().reload();
    }

    private ModelUpdater.Builder updater() {
        return ModelUpdater.builder(device, KEYS.getPublic());
    }

    private List<String> versionFolders() throws IOException {
        try (Stream<Path> s = Files.list(device.resolve("versions"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theServerHandsOutModelFilesWithTheirDigestAndSignature() throws Exception {
        Path file = repo.resolve("digits/1/model.onnx");
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(server.uri().resolve(
                "/v1/models/digits/versions/1/model.onnx")).header("Authorization", "Bearer tok").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(Files.readAllBytes(file));
        String sha = ModelSignatures.hex(ModelSignatures.sha256(file));
        assertThat(r.headers().firstValue("X-Tandem-Sha256")).hasValue(sha);
        assertThat(r.headers().firstValue("X-Tandem-Signed")).hasValue("true");
        HttpResponse<String> sig = http.send(HttpRequest.newBuilder(server.uri().resolve(
                "/v1/models/digits/versions/1/model.onnx.sig")).header("Authorization", "Bearer tok").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(sig.body()).isEqualTo(Files.readString(repo.resolve("digits/1/model.onnx.sig")));
        JsonNode meta = new ObjectMapper().readTree(client.getBytes("/v2/models/digits"));
        assertThat(meta.path("tandem").path("sha256").asText()).isEqualTo(sha);
        assertThat(meta.path("tandem").path("signed").asBoolean()).isTrue();

        // Behind auth; unknown, unsigned and failed versions are clear 404s.
        assertThat(http.send(HttpRequest.newBuilder(server.uri().resolve("/v1/models/digits/versions/1/model.onnx"))
                .build(), HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(401);
        assertThatThrownBy(() -> client.getBytes("/v1/models/digits/versions/9/model.onnx"))
                .hasMessageContaining("404").hasMessageContaining("no version 9");
        ServeTestSupport.writeClassifier(repo, "digits", 2, 2);
        ServeTestSupport.writeCorrupt(repo, "digits", 3);
        server.repository().reload();
        assertThatThrownBy(() -> client.getBytes("/v1/models/digits/versions/2/model.onnx.sig"))
                .hasMessageContaining("404").hasMessageContaining("not signed");
        assertThat(client.getBytes("/v1/models/digits/versions/2/model.onnx")).hasSize((int) Files.size(
                repo.resolve("digits/2/model.onnx")));
        assertThatThrownBy(() -> client.getBytes("/v1/models/digits/versions/3/model.onnx"))
                .hasMessageContaining("404").hasMessageContaining("failed to load");
    }

    @Test
    void installsNewerVersionsKeepsThePreviousAndRollsBack() throws Exception {
        try (ModelUpdater u = updater().build();
             TandemClient cascade = TandemClient.builder(server.uri(), "digits").token("tok").localModel(u)
                     .threshold(0.5).build()) {
            assertThat(u.version()).isNull();
            // No local model yet: the server answers.
            assertThat(cascade.cascade(ServeTestSupport.png()).source()).isEqualTo(Classification.Source.REMOTE);

            ModelUpdater.Update first = u.check(client);
            assertThat(first.outcome()).as(first.message()).isEqualTo(ModelUpdater.Outcome.INSTALLED);
            assertThat(u.version()).isEqualTo(1L);
            Classification c = cascade.cascade(ServeTestSupport.png());
            assertThat(c.source()).isEqualTo(Classification.Source.LOCAL);
            assertThat(c.modelVersion()).isEqualTo("1");
            assertThat(c.top().label()).isEqualTo("one");
            assertThat(u.check(client).outcome()).isEqualTo(ModelUpdater.Outcome.UP_TO_DATE);

            // A request holding version 1 finishes on it although version 2 is swapped in meanwhile.
            try (ModelUpdater.Lease held = u.acquire()) {
                publish(2, 2, KEYS);
                assertThat(u.check(client).outcome()).isEqualTo(ModelUpdater.Outcome.INSTALLED);
                assertThat(held.version()).isEqualTo(1L);
                assertThat(held.classifier().classify(ServeTestSupport.png()).getFirst().label()).isEqualTo("one");
            }
            assertThat(cascade.cascade(ServeTestSupport.png()).top().label()).isEqualTo("two");
            assertThat(u.previousVersion()).isEqualTo(1L);
            assertThat(versionFolders()).containsExactly("1", "2");

            publish(3, 3, KEYS);
            assertThat(u.check(client).outcome()).isEqualTo(ModelUpdater.Outcome.INSTALLED);
            assertThat(versionFolders()).as("only current and previous stay").containsExactly("2", "3");

            assertThat(u.rollback()).isTrue();
            assertThat(u.version()).isEqualTo(2L);
            assertThat(cascade.cascade(ServeTestSupport.png()).top().label()).isEqualTo("two");
            assertThat(u.rejectedVersions()).containsExactly(3L);
            assertThat(u.check(client).outcome()).as("a rolled-back version is not installed again")
                    .isEqualTo(ModelUpdater.Outcome.UP_TO_DATE);
            assertThat(u.rollback()).as("one step back only").isFalse();
        }
        // Reopened: the same version, from disk alone.
        try (ModelUpdater u = updater().build()) {
            assertThat(u.version()).isEqualTo(2L);
            assertThat(u.rejectedVersions()).containsExactly(3L);
        }
    }

    @Test
    void rejectsWrongSignaturesUnloadableModelsAndFailedSmokeTestsAndKeepsTheOldModel() throws Exception {
        try (ModelUpdater u = updater().smokeTest(SmokeTest.zeros().and(c -> {
            if (c.classify(ServeTestSupport.png()).getFirst().label().equals("seven")) {
                throw new IllegalStateException("seven is not allowed");
            }
        })).build()) {
            assertThat(u.check(client).outcome()).isEqualTo(ModelUpdater.Outcome.INSTALLED);

            publish(2, 2, OTHER);
            ModelUpdater.Update wrongKey = u.check(client);
            assertThat(wrongKey.outcome()).isEqualTo(ModelUpdater.Outcome.REJECTED);
            assertThat(wrongKey.message()).contains("does not verify with the pinned public key");
            assertThat(wrongKey.installed()).isEqualTo(1L);
            assertThat(u.check(client).outcome()).as("not downloaded again").isEqualTo(
                    ModelUpdater.Outcome.UP_TO_DATE);

            ServeTestSupport.writeNanClassifier(repo, "digits", 3);
            signed(repo.resolve("digits/3/model.onnx"), KEYS);
            server.repository().reload();
            ModelUpdater.Update nan = u.check(client);
            assertThat(nan.outcome()).isEqualTo(ModelUpdater.Outcome.REJECTED);
            assertThat(nan.message()).contains("smoke test").contains("NaN");

            publish(4, 7, KEYS);
            ModelUpdater.Update seven = u.check(client);
            assertThat(seven.outcome()).isEqualTo(ModelUpdater.Outcome.REJECTED);
            assertThat(seven.message()).contains("seven is not allowed");

            // Signed but not a model: it does not load.
            Path junk = Files.write(dir.resolve("junk.onnx"), "not a model".repeat(20).getBytes());
            ModelUpdater.Update corrupt = u.install(5, junk, ModelSignatures.signFile(KEYS.getPrivate(), junk));
            assertThat(corrupt.outcome()).isEqualTo(ModelUpdater.Outcome.REJECTED);
            assertThat(corrupt.message()).contains("does not load");

            ModelUpdater.Update unsigned = u.install(6, junk, dir.resolve("missing.sig"));
            assertThat(unsigned.outcome()).isEqualTo(ModelUpdater.Outcome.REJECTED);

            assertThat(u.version()).isEqualTo(1L);
            assertThat(u.rejectedVersions()).containsExactly(2L, 3L, 4L, 5L, 6L);
            assertThat(versionFolders()).containsExactly("1");
            try (ModelUpdater.Lease l = u.acquire()) {
                assertThat(l.classifier().classify(ServeTestSupport.png()).getFirst().label()).isEqualTo("one");
            }
        }
    }

    @Test
    void openingCleansWhatAnInterruptedUpdateLeftAndFallsBackWhenTheCurrentModelIsDamaged() throws Exception {
        try (ModelUpdater u = updater().build()) {
            u.check(client);
            publish(2, 2, KEYS);
            u.check(client);
        }
        // A kill mid-download, and one after the file moved in but before the state named it.
        Files.write(device.resolve("incoming/3-123.part"), new byte[100]);
        Files.createDirectories(device.resolve("versions/3"));
        Files.write(device.resolve("versions/3/model.onnx"), new byte[10]);
        Files.writeString(device.resolve("state.tmp"), "current=3\n");
        try (ModelUpdater u = updater().build()) {
            assertThat(u.version()).isEqualTo(2L);
            assertThat(versionFolders()).containsExactly("1", "2");
            assertThat(device.resolve("incoming")).isEmptyDirectory();
            assertThat(device.resolve("state.tmp")).doesNotExist();
            assertThatThrownBy(() -> updater().build()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("in use by another process");
        }
        // The current file damaged on disk: its signature no longer verifies, the previous version takes over.
        Files.write(device.resolve("versions/2/model.onnx"), new byte[] {1}, java.nio.file.StandardOpenOption.APPEND);
        try (ModelUpdater u = updater().build()) {
            assertThat(u.version()).isEqualTo(1L);
            assertThat(u.previousVersion()).isNull();
            assertThat(versionFolders()).containsExactly("1");
        }
    }

    @Test
    void aStalledOrCutDownloadFailsAndIsRetriedLater() throws Exception {
        try (SlowModelServer stub = new SlowModelServer(repo.resolve("digits/1/model.onnx"), 1, 0.5);
             TandemClient c = TandemClient.builder(stub.uri(), "digits").retries(0).build();
             ModelUpdater u = updater().stallTimeout(Duration.ofMillis(300)).build()) {
            ModelUpdater.Update stalled = u.check(c);
            assertThat(stalled.outcome()).isEqualTo(ModelUpdater.Outcome.FAILED);
            assertThat(stalled.message()).contains("no data for 300 ms");
            assertThat(u.version()).isNull();
            assertThat(device.resolve("incoming")).isEmptyDirectory();
            stub.release();
            ModelUpdater.Update again = u.check(c);
            assertThat(again.outcome()).as(again.message()).isEqualTo(ModelUpdater.Outcome.INSTALLED);
        }
    }
}
