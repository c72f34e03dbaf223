package dev.tandem.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tandem.cuda.check.GpuCheck;
import dev.tandem.cuda.check.OpParity;
import dev.tandem.cuda.check.Outcome;
import dev.tandem.cuda.exec.CudaSession;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.engine.DeviceParity;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The CUDA backend against the CPU backend, on this machine's GPU: every op the executor claims (float32, and the
 * convolutions and products again in a bfloat16 session), the kernels and library bindings ({@code GpuCheck
 * --quick}), and whole training steps ({@code DeviceParity}). Where there is no usable GPU every test is skipped and
 * the reason (what is missing: driver, library or device) is printed once and given as the skip's message. The GPU
 * machine of {@code scripts/gpu-check.sh} has no Maven; it runs the same checks through their main classes.
 */
class GpuParityTest {
    private static final Set<String> MIXED = Set.of("Conv", "ConvGradInput", "ConvGradWeight", "Gemm", "MatMul");
    private static String noGpu;
    private static ThreadPool pool;
    private static CudaSession float32;
    private static CudaSession bf16;

    @BeforeAll
    static void probe() {
        BackendProbe p = new CudaBackendProvider().probe(BackendEnvironment.system());
        if (!p.supports(Capability.TRAINING)) {
            noGpu = "no GPU: " + p.whyNot(Capability.TRAINING);
            System.out.println("GpuParityTest skipped, " + noGpu);
        }
    }

    @AfterAll
    static void close() {
        for (AutoCloseable c : new AutoCloseable[] {float32, bf16, pool}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private static void requireGpu() {
        assumeTrue(noGpu == null, noGpu);
        if (pool == null) {
            pool = new ThreadPool(2);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyOpInFloat32MatchesTheCpu() {
        requireGpu();
        float32 = CudaSession.open(BackendEnvironment.system(), false, false, true);
        return OpParity.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Outcome o = OpParity.run(c, float32, pool);
            assertThat(o.passed()).as(o.detail()).isTrue();
        }));
    }

    @TestFactory
    Stream<DynamicTest> convolutionsAndProductsInBfloat16MatchTheCpuOnRoundedInputs() {
        requireGpu();
        try {
            bf16 = CudaSession.open(BackendEnvironment.system(), true, true, true);
        } catch (IllegalStateException e) {
            assumeTrue(!e.getMessage().startsWith("bfloat16 mixed precision needs"), e.getMessage());
            throw e;
        }
        return OpParity.all().stream().filter(c -> MIXED.contains(c.type()))
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> {
                    Outcome o = OpParity.run(OpParity.roundedToBf16(c, 1e-2, 8e-3), bf16, pool);
                    assertThat(o.passed()).as(o.detail()).isTrue();
                }));
    }

    @Test
    void kernelsAndLibraryBindingsPassGpuCheck() {
        requireGpu();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = GpuCheck.run(new String[] {"--quick"}, BackendEnvironment.system(),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertThat(code).as(bytes.toString(StandardCharsets.UTF_8)).isZero();
    }

    @Test
    void wholeTrainingStepsMatchTheCpu() {
        requireGpu();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = DeviceParity.run(new String[] {"fashionnet", "resnet8"},
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertThat(code).as(bytes.toString(StandardCharsets.UTF_8)).isZero();
    }
}
