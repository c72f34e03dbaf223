package dev.tandem.serve.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stub of the server's update endpoints that offers one signed model version and sends only a fraction of the
 * file, then stalls until {@link #release()}: a download can be caught (and killed) in the middle.
 */
final class SlowModelServer implements AutoCloseable {
    private final HttpServer http;
    private final byte[] model;
    private final byte[] signature;
    private final long version;
    private final int sendFirst;
    private final CountDownLatch released = new CountDownLatch(1);
    /** Counted down once a download has sent its first part and stalls. */
    final CountDownLatch stalling = new CountDownLatch(1);
    final AtomicInteger downloads = new AtomicInteger();

    /** Offers {@code modelFile} (with the {@code .sig} beside it) as {@code version}. */
    SlowModelServer(Path modelFile, long version, double fractionFirst) throws IOException {
        this.model = Files.readAllBytes(modelFile);
        this.signature = Files.readAllBytes(modelFile.resolveSibling(modelFile.getFileName() + ".sig"));
        this.version = version;
        this.sendFirst = (int) (model.length * fractionFirst);
        this.http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/", this::handle);
        http.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + http.getAddress().getPort());
    }

    /** Lets stalled and later downloads complete. */
    void release() {
        released.countDown();
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        try (ex) {
            if (path.matches("/v2/models/[^/]+")) {
                send(ex, ("{\"name\":\"m\",\"tandem\":{\"serving_version\":\"" + version + "\"}}")
                        .getBytes(StandardCharsets.UTF_8));
            } else if (path.endsWith("/versions/" + version + "/model.onnx.sig")) {
                send(ex, signature);
            } else if (path.endsWith("/versions/" + version + "/model.onnx")) {
                downloads.incrementAndGet();
                ex.getResponseHeaders().add("X-Tandem-Sha256", ModelSignatures.hex(ModelSignatures.sha256()
                        .digest(model)));
                ex.sendResponseHeaders(200, model.length);
                OutputStream out = ex.getResponseBody();
                if (released.getCount() > 0) {
                    out.write(model, 0, sendFirst);
                    out.flush();
                    stalling.countDown();
                    released.await(60, TimeUnit.SECONDS);
                    out.write(model, sendFirst, model.length - sendFirst);
                } else {
                    out.write(model);
                }
            } else {
                ex.sendResponseHeaders(404, -1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The client went away (gave up, or was killed): nothing to answer.
        }
    }

    private static void send(HttpExchange ex, byte[] body) throws IOException {
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    @Override
    public void close() {
        release();
        http.stop(0);
    }
}
