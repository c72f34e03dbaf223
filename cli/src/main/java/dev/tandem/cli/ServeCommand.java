package dev.tandem.cli;

import dev.tandem.serve.ModelServer;
import dev.tandem.serve.repository.ModelStatus;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tandem serve}: the inference server over a model repository, until SIGTERM or Ctrl-C (which drain it:
 * readiness fails first, requests in flight complete). The endpoints are in docs/serving.md.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {"Serve the models of a repository over HTTP (Open Inference Protocol v2, image classification,",
            "model downloads for device updates, a web page at /, Prometheus metrics at /metrics).",
            "Layout: DIR/{model}/{version}/model.onnx (+ model.onnx.sig); the newest version that loads serves.",
            "Runs until SIGTERM or Ctrl-C, which drain it: readiness fails, requests in flight complete."})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--repository", required = true, paramLabel = "DIR", description = "The model repository folder.")
    Path repository;

    @Option(names = "--port", paramLabel = "P", description = "Port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port = 8080;

    @Option(names = "--host", paramLabel = "H",
            description = "Address to bind (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0: every interface).")
    String host = "127.0.0.1";

    @Option(names = "--token-file", paramLabel = "F",
            description = "Bearer tokens, one per line (# comments); every route but liveness and the page then needs one.")
    Path tokenFile;

    @Option(names = "--management", description = "Enable the repository endpoints (reload, load, pin, unpin, index).")
    boolean management;

    @Option(names = "--max-batch", paramLabel = "N", description = "Most images or rows per batch (default: ${DEFAULT-VALUE}; 1: no batching).")
    int maxBatch = 8;

    @Option(names = "--max-delay-ms", paramLabel = "N", description = "How long a batch waits for more requests (default: ${DEFAULT-VALUE} ms).")
    int maxDelayMs = 2;

    @Option(names = "--watch-s", paramLabel = "N", description = "Rescan the repository every N seconds (default: only on a reload request).")
    Integer watchSeconds;

    @Option(names = "--threads", description = "Compute threads shared by all models (default: all cores).")
    int threads;

    @Option(names = "--max-memory", paramLabel = "BYTES", converter = MemorySizeConverter.class,
            description = "Memory budget per model version: refuse a version whose weights plus the arena of a run "
                    + "at --max-batch need more (bytes, or with k, m, g: 512k, 64m, 1g; binary units).")
    Long maxMemory;

    @Override
    public Integer call() throws InterruptedException {
        if (!Files.isDirectory(repository)) {
            throw new ParameterException(spec.commandLine(), "--repository '" + repository + "' is not a folder");
        }
        if (maxBatch < 1) {
            throw new ParameterException(spec.commandLine(), "--max-batch must be >= 1");
        }
        if (maxDelayMs < 0) {
            throw new ParameterException(spec.commandLine(), "--max-delay-ms must be >= 0");
        }
        if (threads < 0) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        if (watchSeconds != null && watchSeconds < 1) {
            throw new ParameterException(spec.commandLine(), "--watch-s must be >= 1");
        }
        ModelServer.Builder b = ModelServer.builder(repository).host(host).port(port).tokenFile(tokenFile)
                .management(management).maxBatch(maxBatch).maxDelay(Duration.ofMillis(maxDelayMs)).threads(threads)
                .maxMemory(maxMemory == null ? 0 : maxMemory).shutdownHook(true);
        if (watchSeconds != null) {
            b.watch(Duration.ofSeconds(watchSeconds));
        }
        PrintWriter out = spec.commandLine().getOut();
        ModelServer started;
        try {
            started = b.build().start();
        } catch (IllegalStateException e) {
            // The address is taken or cannot be bound: the user picks another.
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        boolean interrupted = false;
        try (ModelServer server = started) {
            out.println("Tandem serving " + server.repository().serving().size() + " model(s) from " + repository
                    + " on " + server.uri());
            for (ModelStatus st : server.repository().status()) {
                st.failed().forEach((v, why) -> out.println("Model '" + st.name() + "' version " + v
                        + " not loaded: " + why));
            }
            out.println((tokenFile == null ? "No token needed. " : "") + "The page: " + server.uri()
                    + "/ . SIGTERM or Ctrl-C drains and stops.");
            out.flush();
            try {
                server.awaitClose();
            } catch (InterruptedException e) {
                // Stopped from inside the JVM (a test, an embedding application): drain as on SIGTERM. The flag is
                // set again only after the drain, which an interrupted thread could not wait for.
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        out.println("Tandem server stopped");
        out.flush();
        return 0;
    }
}
