package dev.tandem.cuda.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cuda.NativeTools;
import dev.tandem.runtime.backend.BackendEnvironment;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What GpuCheck does where there is no GPU, and how it reports failures (with the fake driver). */
class GpuCheckTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void withoutAGpuItSaysWhyOnTheFirstLineAndExitsWithItsOwnCode() {
        BackendEnvironment nothing = BackendEnvironment.empty();
        for (String lib : new String[] {"libcuda", "libcublaslt", "libcublas", "libnvrtc", "libcudnn"}) {
            nothing = nothing.withProperty("tandem.cuda." + lib, dir.resolve("none/" + lib).toString());
        }
        int code = GpuCheck.run(new String[0], nothing, out);
        assertThat(code).isEqualTo(GpuCheck.EXIT_NO_GPU).isEqualTo(3);
        assertThat(output().lines().findFirst().orElseThrow())
                .isEqualTo("no GPU: missing CUDA driver, cuBLASLt, cuBLAS, NVRTC, cuDNN");
        assertThat(output()).contains("CUDA driver not found: -Dtandem.cuda.libcuda=" + dir.resolve("none/libcuda"));
    }

    @Test
    void badArgumentsAreAUsageError() {
        assertThat(GpuCheck.run(new String[] {"--fast"}, BackendEnvironment.empty(), out)).isEqualTo(2);
        assertThat(output()).startsWith("unknown argument '--fast'");
        assertThat(GpuCheck.run(new String[] {"--ptx-cache"}, BackendEnvironment.empty(), out)).isEqualTo(2);
    }

    @Test
    void failuresAreRowsOfTheTableAndTheExitCodeIsOne() throws Exception {
        Path fake = NativeTools.buildFakeDriver(dir.resolve("lib"));
        BackendEnvironment env = BackendEnvironment.empty().withProperty("tandem.cuda.libcuda", fake.toString())
                .withProperty("tandem.cuda.ptxCache", dir.resolve("ptx").toString());
        // The other libraries are copies of the fake driver: they load, but lack every function of theirs.
        for (String lib : new String[] {"libcublaslt", "libcublas", "libnvrtc", "libcudnn"}) {
            Path copy = dir.resolve("fake/" + lib + ".so");
            Files.createDirectories(copy.getParent());
            Files.copy(fake, copy);
            env = env.withProperty("tandem.cuda." + lib, copy.toString());
        }
        int code = GpuCheck.run(new String[] {"--quick"}, env, out);
        String text = output();
        assertThat(code).as(text).isEqualTo(GpuCheck.EXIT_FAILED);
        assertThat(text).startsWith("Tandem GPU check on Fake GPU 9000 (compute 9.0, 80.0 GiB), driver for CUDA 13.0");
        assertThat(text).contains("[PASS] device memory round trip", "[FAIL] NVRTC: compile and load kernels",
                "NVRTC at " + dir.resolve("fake/libnvrtc.so") + " has no function nvrtcVersion",
                "[FAIL] cuBLAS: create handles", "has no function cublasCreate_v2",
                "[FAIL] cuDNN: create handle");
        // The executor's session needs NVRTC too: its row says it did not open, and no op case runs.
        assertThat(text).contains("executor: open a session", "nvrtcVersion").doesNotContain("op: Conv");
        String[] lines = text.strip().split("\n");
        assertThat(lines[lines.length - 1]).isEqualTo("RESULT: FAIL (5 of 6 checks failed)");
        assertThat(text).contains("== Tandem GPU check: Fake GPU 9000");
    }
}
