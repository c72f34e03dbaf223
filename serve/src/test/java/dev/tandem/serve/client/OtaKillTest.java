package dev.tandem.serve.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.serve.ServeTestSupport;
import dev.tandem.serve.signing.ModelSignatures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real device process ({@link OtaDeviceMain}, a separate JVM) in the middle of an over-the-air update —
 * once mid-download, once after the new file moved into the folder but before it was committed — and checks that
 * the device restarts on its old model with the leftovers cleaned, and that the update then succeeds.
 */
class OtaKillTest {
    @TempDir
    Path dir;

    @Test
    void aDeviceKilledDuringAnUpdateRestartsOnItsOldModel() throws Exception {
        Path keys = dir.resolve("keys");
        var priv = ModelSignatures.readPrivateKey(ModelSignatures.writeKeyPair(keys));
        Path pubFile = keys.resolve(ModelSignatures.PUBLIC_KEY_FILE);
        PublicKey pub = ModelSignatures.readPublicKey(pubFile);
        Path v1 = ServeTestSupport.writeClassifier(dir.resolve("src"), "digits", 1, 1);
        Path v2 = ServeTestSupport.writeClassifier(dir.resolve("src"), "digits", 2, 2);
        ModelSignatures.signFile(priv, v1);
        ModelSignatures.signFile(priv, v2);
        Path device = dir.resolve("device");
        try (ModelUpdater u = ModelUpdater.builder(device, pub).build()) {
            assertThat(u.install(1, v1, v1.resolveSibling("model.onnx.sig")).outcome())
                    .isEqualTo(ModelUpdater.Outcome.INSTALLED);
        }

        try (SlowModelServer stub = new SlowModelServer(v2, 2, 0.4)) {
            // 1. Killed mid-download: the server has sent 40% of the file and stalls.
            Child a = new Child(device, pubFile, stub, false);
            assertThat(a.line("OPEN")).isEqualTo("OPEN version=1");
            assertThat(stub.stalling.await(60, TimeUnit.SECONDS)).isTrue();
            waitFor(() -> !list(device.resolve("incoming")).isEmpty());
            a.kill();
            assertThat(list(device.resolve("incoming"))).as("the partial download is left behind").hasSize(1);

            // 2. Restarted (a new process), it runs version 1; this time it is killed inside the smoke test of the
            //    complete, verified version 2, which already lies in versions/2 but is not committed.
            stub.release();
            Child b = new Child(device, pubFile, stub, true);
            assertThat(b.line("OPEN")).isEqualTo("OPEN version=1");
            assertThat(b.line("SMOKE")).isEqualTo("SMOKE");
            assertThat(device.resolve("versions/2/model.onnx")).exists();
            b.kill();

            // 3. Restarted again: version 1, leftovers gone; the update then goes through.
            try (ModelUpdater u = ModelUpdater.builder(device, pub).build();
                 TandemClient c = TandemClient.builder(stub.uri(), "digits").retries(0).build()) {
                assertThat(u.version()).isEqualTo(1L);
                assertThat(list(device.resolve("incoming"))).isEmpty();
                assertThat(list(device.resolve("versions"))).containsExactly("1");
                try (ModelUpdater.Lease l = u.acquire()) {
                    assertThat(l.classifier().classify(ServeTestSupport.png()).getFirst().label()).isEqualTo("one");
                }
                assertThat(u.check(c).outcome()).isEqualTo(ModelUpdater.Outcome.INSTALLED);
                assertThat(u.version()).isEqualTo(2L);
            }
        }
    }

    private static List<String> list(Path d) {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cond.getAsBoolean()) {
            assertThat(System.nanoTime() - until).as("timed out").isNegative();
            Thread.sleep(20);
        }
    }

    /** A device JVM whose output lines are collected. */
    private static final class Child {
        private final Process p;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer all = new StringBuffer();

        Child(Path device, Path pub, SlowModelServer stub, boolean slowSmoke) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                    OtaDeviceMain.class.getName(), device.toString(), pub.toString(), stub.uri().toString(), "digits"));
            if (slowSmoke) {
                cmd.add("slow-smoke");
            }
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        all.append(l).append('\n');
                        lines.add(l);
                    }
                } catch (IOException e) {
                    // The process was killed.
                }
            });
        }

        /** The first line starting with {@code prefix} (others skipped), waiting up to 60 s. */
        String line(String prefix) throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < until) {
                String l = lines.poll(100, TimeUnit.MILLISECONDS);
                if (l != null && l.startsWith(prefix)) {
                    return l;
                }
            }
            throw new AssertionError("No line '" + prefix + "' from the device; its output:\n" + all);
        }

        /** SIGKILL: no shutdown hooks, no finally blocks. */
        void kill() throws InterruptedException {
            assertThat(p.isAlive()).as("still updating when killed; output:\n" + all).isTrue();
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
    }
}
