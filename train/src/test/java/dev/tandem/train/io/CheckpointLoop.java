package dev.tandem.train.io;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A separate process for {@link CrashTest}: rewrites one checkpoint in a loop, every tensor filled with the
 * iteration number that the state records, and prints "ready" after the first complete write.
 */
public final class CheckpointLoop {
    private CheckpointLoop() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        float[] weights = new float[2_000_000];
        long[] counters = new long[1000];
        for (int i = 0; ; i++) {
            Arrays.fill(weights, i);
            Arrays.fill(counters, i);
            Checkpoint.write(file, Map.of("weights", new TensorData.F32(weights),
                    "counters", new TensorData.I64(counters)), Map.of("iteration", i));
            if (i == 0) {
                System.out.println("ready");
                System.out.flush();
            }
        }
    }
}
