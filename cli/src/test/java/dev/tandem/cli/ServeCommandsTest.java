package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.serve.signing.ModelSignatures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tandem keygen, sign and serve (a real server process, stopped by SIGTERM). */
class ServeCommandsTest {
    @TempDir
    Path dir;

    @Test
    void keygenWritesAPairOnceAndSignWritesAVerifiableSignature() throws Exception {
        Path keys = dir.resolve("keys");
        TrainCommandsTest.Result k = TrainCommandsTest.run("keygen", "--out", keys.toString());
        assertThat(k.exitCode()).as(k.err()).isZero();
        Path priv = keys.resolve("signing-key.pem");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(priv))).isEqualTo("rw-------");
        assertThat(k.out()).contains("signing-key.pub.pem");
        TrainCommandsTest.Result again = TrainCommandsTest.run("keygen", "--out", keys.toString());
        assertThat(again.exitCode()).isEqualTo(2);
        assertThat(again.err()).contains("Already exists");

        Path model = Files.write(dir.resolve("m.onnx"), new byte[] {1, 2, 3});
        TrainCommandsTest.Result s = TrainCommandsTest.run("sign", "--key", priv.toString(), "--model",
                model.toString());
        assertThat(s.exitCode()).as(s.err()).isZero();
        assertThat(s.out()).contains("sha256 " + ModelSignatures.hex(ModelSignatures.sha256(model)));
        ModelSignatures.verifyFile(ModelSignatures.readPublicKey(keys.resolve("signing-key.pub.pem")), model,
                dir.resolve("m.onnx.sig"));
        TrainCommandsTest.Result wrongKey = TrainCommandsTest.run("sign", "--key",
                keys.resolve("signing-key.pub.pem").toString(), "--model", model.toString());
        assertThat(wrongKey.exitCode()).isEqualTo(2);
        assertThat(wrongKey.err()).contains("PRIVATE KEY");
    }

    @Test
    void serveRefusesAMissingRepository() {
        TrainCommandsTest.Result r = TrainCommandsTest.run("serve", "--repository", dir.resolve("none").toString(),
                "--port", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("is not a folder");
    }

    @Test
    void serveAnswersWithATokenAndDrainsOnSigterm() throws Exception {
        Path repo = dir.resolve("repo");
        Path model = FashionNetModel.write(repo.resolve("fashion/1/model.onnx"));
        Path keys = dir.resolve("keys");
        ModelSignatures.signFile(ModelSignatures.readPrivateKey(ModelSignatures.writeKeyPair(keys)), model);
        Path tokens = Files.writeString(dir.resolve("tokens"), "# devices\nsecret-1\n");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                Tandem.class.getName(), "serve", "--repository", repo.toString(), "--port", "0", "--token-file",
                tokens.toString(), "--max-batch", "4", "--max-delay-ms", "1", "--threads", "1"));
        // Output to a file: destroy() closes a process's pipes, and the last lines come after it.
        Path logFile = dir.resolve("serve.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        try {
            URI uri = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (uri == null && p.isAlive() && System.nanoTime() < until) {
                for (String line : Files.readAllLines(logFile)) {
                    int at = line.indexOf(" on http://");
                    if (line.startsWith("Tandem serving") && at > 0) {
                        uri = URI.create(line.substring(at + 4).strip());
                    }
                }
                Thread.sleep(50);
            }
            String log = Files.readString(logFile);
            assertThat(uri).as(log).isNotNull();
            assertThat(log).contains("1 model(s)");

            HttpClient http = HttpClient.newHttpClient();
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            ImageIO.write(img, "png", png);
            HttpResponse<String> denied = http.send(HttpRequest.newBuilder(uri.resolve("/v1/models/fashion:classify"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(png.toByteArray())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(denied.statusCode()).isEqualTo(401);
            HttpResponse<String> ok = http.send(HttpRequest.newBuilder(uri.resolve("/v1/models/fashion:classify"))
                    .header("Authorization", "Bearer secret-1")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(png.toByteArray())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            JsonNode j = new ObjectMapper().readTree(ok.body());
            assertThat(j.path("model_version").asText()).isEqualTo("1");
            assertThat(j.path("predictions")).hasSize(5);
            HttpResponse<String> sig = http.send(HttpRequest.newBuilder(uri.resolve(
                    "/v1/models/fashion/versions/1/model.onnx.sig")).header("Authorization", "Bearer secret-1")
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(sig.body()).isEqualTo(Files.readString(model.resolveSibling("model.onnx.sig")));

            p.destroy();  // SIGTERM: the shutdown hook drains the server
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            // The port is closed once the process has drained and exited. (The server's own "stopped" log line is
            // not asserted: java.util.logging shuts down in a hook of its own and may drop it.)
            URI stopped = uri;
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(
                    stopped.resolve("/v2/health/live")).build(), HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(java.io.IOException.class);
        } finally {
            p.destroyForcibly();
        }
    }
}
