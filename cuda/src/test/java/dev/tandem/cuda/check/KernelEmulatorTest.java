package dev.tandem.cuda.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every case of {@link KernelCases} (the ones GpuCheck runs on a GPU) run on the CPU emulator of the CUDA execution
 * model, against {@link KernelReference}: the kernels' logic is checked on any machine with g++.
 */
class KernelEmulatorTest {
    @TempDir
    static Path dir;
    static KernelEmulator emulator;

    @BeforeAll
    static void build() throws Exception {
        // 32 threads per block: enough to exercise the block reductions, few enough to start quickly.
        emulator = KernelEmulator.build(dir, 32);
    }

    @AfterAll
    static void close() {
        if (emulator != null) {
            emulator.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyKernelCaseMatchesItsReference() {
        return KernelCases.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Outcome o = c.run(emulator);
            assertThat(o.passed()).as(o.detail()).isTrue();
        }));
    }

    @Test
    void theCasesCanFail() {
        // A kernel given the wrong buffer: the comparison must notice.
        long x = emulator.upload(new float[] {1, 2, 3});
        long y = emulator.zeros(12);
        emulator.launch("tandem_scale", Dim3.of(1), Dim3.of(32), new KernelArgs(emulator.arena()).f32(2f).pointer(x)
                .pointer(y).i64(3));
        Outcome wrong = Outcome.compare("scale", emulator.floats(y, 3), new double[] {2, 4, 7}, 0, 1e-6);
        assertThat(wrong.passed()).isFalse();
        assertThat(wrong.detail()).contains("at [2]: 6.0 vs 7.0");
        assertThatThrownBy(() -> emulator.launch("tandem_scale", Dim3.of(1), Dim3.of(32),
                new KernelArgs(emulator.arena()).f32(2f).pointer(x).pointer(y).i32(3)))
                .hasMessageContaining("takes [FLOAT, POINTER, POINTER, LONG] but was given [FLOAT, POINTER, POINTER, INT]");
    }

    @Test
    void parameterTypesForTheLaunchers() {
        assertThat(KernelEmulator.type("const float* __restrict__ x")).isEqualTo("const float*");
        assertThat(KernelEmulator.type("long long n")).isEqualTo("long long");
        assertThat(KernelEmulator.type("unsigned short* y")).isEqualTo("unsigned short*");
    }
}
