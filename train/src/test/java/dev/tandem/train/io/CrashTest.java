package dev.tandem.train.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A process killed while it rewrites a checkpoint leaves a checkpoint that loads and is consistent. */
class CrashTest {
    @TempDir
    Path dir;

    @Test
    void killedWriterLeavesALoadableCheckpoint() throws Exception {
        Path file = dir.resolve("last.ckpt");
        for (long killAfterMillis : new long[] {1000, 1370}) {
            Process writer = new ProcessBuilder(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    CheckpointLoop.class.getName(), file.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            try {
                BufferedReader out = new BufferedReader(
                        new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8));
                assertThat(out.readLine()).as("the writer's first line").isEqualTo("ready");
                Thread.sleep(killAfterMillis);
                assertThat(writer.isAlive()).as("the writer is still writing").isTrue();
            } finally {
                writer.destroyForcibly();
                assertThat(writer.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }

            Checkpoint.Contents c = Checkpoint.read(file);
            int iteration = ((Number) c.state().get("iteration")).intValue();
            assertThat(iteration).isGreaterThan(0);
            assertThat(c.floats("weights")).hasSize(2_000_000).containsOnly((float) iteration);
            assertThat(c.longs("counters")).hasSize(1000).containsOnly(iteration);
        }
        // What a kill can leave is a hidden temporary file, never a damaged checkpoint.
        File[] files = dir.toFile().listFiles();
        assertThat(files).isNotNull();
        for (File f : files) {
            assertThat(f.getName()).matches("last\\.ckpt|\\.last\\.ckpt\\..*\\.tmp");
        }
    }
}
