package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** DeviceParity runs on a GPU machine (scripts/gpu-check.sh); without the CUDA backend it says so and exits 3. */
class DeviceParityTest {
    @Test
    void withoutTheCudaBackendItExitsThreeSayingWhy() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = DeviceParity.run(new String[] {"fashionnet"}, new PrintStream(buf, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(3);
        assertThat(buf.toString(StandardCharsets.UTF_8)).startsWith("no GPU: no CUDA backend on the class path");
    }

    @Test
    void badArgumentsSayWhatIsWrong() {
        for (String[] args : new String[][] {{"--steps"}, {"--steps", "x"}, {"--batch", "1"}, {"vgg16"}}) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int code = DeviceParity.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(code).as(String.join(" ", args)).isEqualTo(2);
            assertThat(buf.toString(StandardCharsets.UTF_8)).startsWith("DeviceParity: ").contains("usage:");
        }
    }
}
