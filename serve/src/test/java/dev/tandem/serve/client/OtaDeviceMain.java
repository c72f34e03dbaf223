package dev.tandem.serve.client;

import dev.tandem.serve.signing.ModelSignatures;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A device process for {@link OtaKillTest}: opens its model folder, prints the version it runs, checks the server
 * once for an update and prints the outcome. Arguments: folder, public key PEM, server URI, model name, and
 * {@code slow-smoke} to make the smoke test print {@code SMOKE} and hang (so it can be killed there).
 */
public final class OtaDeviceMain {
    private OtaDeviceMain() {
    }

    public static void main(String[] args) throws Exception {
        ModelUpdater.Builder b = ModelUpdater.builder(Path.of(args[0]), ModelSignatures.readPublicKey(Path.of(args[1])))
                .stallTimeout(Duration.ofSeconds(120));
        // Armed once the folder is open: opening smoke-tests the installed version too.
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        if (args.length > 4 && args[4].equals("slow-smoke")) {
            b.smokeTest(SmokeTest.zeros().and(c -> {
                if (!armed.get()) {
                    return;
                }
                System.out.println("SMOKE");
                System.out.flush();
                Thread.sleep(120_000);
            }));
        }
        try (ModelUpdater u = b.build();
             TandemClient client = TandemClient.builder(URI.create(args[2]), args[3]).retries(0).build()) {
            armed.set(true);
            System.out.println("OPEN version=" + u.version());
            System.out.flush();
            System.out.println("UPDATE " + u.check(client));
        }
    }
}
