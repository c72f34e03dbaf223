package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.CudaBackendProvider;
import dev.tandem.cuda.CudaProbe;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** {@code --device}: what each choice probes, prints and refuses. */
class DevicesTest {
    private static final String CORES = Runtime.getRuntime().availableProcessors() + " cores";
    /** Every CUDA library named explicitly at a path that does not exist: the same answer on any machine. */
    private static final BackendEnvironment NOTHING = BackendEnvironment.empty()
            .withProperty("tandem.cuda.libcuda", "/nowhere/libcuda.so.1")
            .withProperty("tandem.cuda.libcublaslt", "/nowhere/libcublasLt.so.13")
            .withProperty("tandem.cuda.libcublas", "/nowhere/libcublas.so.13")
            .withProperty("tandem.cuda.libnvrtc", "/nowhere/libnvrtc.so.13")
            .withProperty("tandem.cuda.libcudnn", "/nowhere/libcudnn.so.9");

    private final StringWriter errText = new StringWriter();
    private final PrintWriter err = new PrintWriter(errText, true);

    private static CommandSpec spec() {
        return Tandem.commandLine().getSubcommands().get("train").getCommandSpec();
    }

    private static <T> Supplier<T> never(String what) {
        return () -> {
            throw new AssertionError("--device cpu must not touch " + what);
        };
    }

    /** A provider whose probe finds a GPU that cannot train yet, as the CUDA backend does today on a GPU machine. */
    private static final BackendProvider GPU_WITHOUT_TRAINING = new BackendProvider() {
        @Override
        public String name() {
            return "cuda";
        }

        @Override
        public String description() {
            return "test double";
        }

        @Override
        public BackendProbe probe(BackendEnvironment environment) {
            return BackendProbe.available("cuda", "Fake GPU (compute 9.0, 80.0 GiB)", List.of(), Set.of(),
                    Map.of(Capability.TRAINING, CudaProbe.NOT_IMPLEMENTED));
        }
    };

    /** A session that only records whether it was closed (training through sessions is tested in train). */
    private static final class FakeSession implements DeviceSession {
        boolean closed;

        @Override
        public String summary() {
            return "Fake GPU (compute 9.0, 80.0 GiB), CUDA 13.0";
        }

        @Override
        public void attach(Tensor host) {
        }

        @Override
        public void download() {
        }

        @Override
        public void upload() {
        }

        @Override
        public DevicePlan load(ExecutionPlan plan) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long deviceBytes() {
            return 0;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** A provider whose probe finds a GPU able to train; {@code open} gives {@code session} or throws. */
    private static BackendProvider trainingGpu(Supplier<DeviceSession> open) {
        return new BackendProvider() {
            @Override
            public String name() {
                return "cuda";
            }

            @Override
            public String description() {
                return "test double";
            }

            @Override
            public BackendProbe probe(BackendEnvironment environment) {
                return BackendProbe.available("cuda", "Fake GPU (compute 9.0, 80.0 GiB)", List.of(),
                        Set.of(Capability.TRAINING, Capability.INFERENCE), Map.of());
            }

            @Override
            public DeviceSession open(BackendEnvironment environment) {
                return open.get();
            }
        };
    }

    @Test
    void aGpuThatCanTrainIsOpenedForAutoAndCuda() {
        for (String choice : List.of("auto", "cuda")) {
            FakeSession session = new FakeSession();
            StringWriter text = new StringWriter();
            Devices.Choice c = Devices.forTraining(spec(), choice, new PrintWriter(text, true),
                    () -> Backends.of(List.of(trainingGpu(() -> session))), BackendEnvironment::empty);
            assertThat(c.name()).isEqualTo("cuda");
            assertThat(c.session()).isSameAs(session);
            assertThat(text.toString()).isEqualTo("Device: Fake GPU (compute 9.0, 80.0 GiB), CUDA 13.0\n");
            assertThat(session.closed).isFalse();
            c.close();
            assertThat(session.closed).isTrue();
        }
    }

    @Test
    void aGpuThatFailsToOpenFallsBackToTheCpuOnAutoAndIsRefusedOnCuda() {
        BackendProvider cannot = trainingGpu(() -> {
            throw new UnsupportedOperationException("The cuda backend cannot run plans");
        });
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of(cannot)),
                BackendEnvironment::empty)).isEqualTo(Devices.Choice.CPU);
        assertThat(errText.toString()).isEqualTo("Device: cpu (" + CORES + "); found GPU Fake GPU (compute 9.0, "
                + "80.0 GiB), but it failed to open: The cuda backend cannot run plans\n");
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err, () -> Backends.of(List.of(cannot)),
                BackendEnvironment::empty)).isInstanceOf(ParameterException.class)
                .hasMessage("--device cuda: found GPU Fake GPU (compute 9.0, 80.0 GiB), but it failed to open: The "
                        + "cuda backend cannot run plans; use --device cpu (or auto)");
        BackendProvider broken = trainingGpu(() -> {
            throw new IllegalStateException("cuCtxCreate: CUDA_ERROR_OUT_OF_MEMORY");
        });
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err, () -> Backends.of(List.of(broken)),
                BackendEnvironment::empty)).isInstanceOf(ParameterException.class)
                .hasMessageContaining("failed to open: cuCtxCreate: CUDA_ERROR_OUT_OF_MEMORY");
    }

    @Test
    void cpuNeverLooksForABackend() {
        assertThat(Devices.forTraining(spec(), "cpu", err, never("the backends"), never("the environment")))
                .isEqualTo(Devices.Choice.CPU);
        assertThat(errText.toString()).isEmpty();
    }

    @Test
    void autoWithoutAGpuBackendSaysSo() {
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of()), BackendEnvironment::empty))
                .isEqualTo(Devices.Choice.CPU);
        assertThat(errText.toString()).isEqualTo("Device: cpu (" + CORES + "; this build has no GPU backend)\n");
    }

    @Test
    void autoWithoutAGpuSaysWhyInOneLineAndUsesTheCpu() {
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of(new CudaBackendProvider())),
                () -> NOTHING)).isEqualTo(Devices.Choice.CPU);
        assertThat(errText.toString()).isEqualTo("Device: cpu (" + CORES + "); no usable GPU: missing CUDA driver, "
                + "cuBLASLt, cuBLAS, NVRTC, cuDNN (--device cuda says what to fix)\n");
    }

    @Test
    void cudaWithoutAGpuNamesEachMissingLibraryAndTheFix() {
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err,
                () -> Backends.of(List.of(new CudaBackendProvider())), () -> NOTHING))
                .isInstanceOf(ParameterException.class)
                .hasMessageStartingWith("--device cuda: no usable GPU: missing CUDA driver, cuBLASLt, cuBLAS, NVRTC, "
                        + "cuDNN\nCUDA driver not found: -Dtandem.cuda.libcuda=/nowhere/libcuda.so.1: no such file or "
                        + "folder; name the file with -Dtandem.cuda.libcuda=PATH or TANDEM_LIBCUDA=PATH\n")
                .hasMessageContaining("cuDNN not found: -Dtandem.cuda.libcudnn=/nowhere/libcudnn.so.9");
    }

    @Test
    void aGpuThatCannotTrainYetIsNamedAndTheCpuUsedOrTheRequestRefused() {
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of(GPU_WITHOUT_TRAINING)),
                BackendEnvironment::empty)).isEqualTo(Devices.Choice.CPU);
        // The reason is the cuda module's own note (its wording follows that module's progress).
        assertThat(errText.toString()).isEqualTo("Device: cpu (" + CORES + "); found GPU Fake GPU (compute 9.0, "
                + "80.0 GiB), but " + CudaProbe.NOT_IMPLEMENTED + "\n");
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err,
                () -> Backends.of(List.of(GPU_WITHOUT_TRAINING)), BackendEnvironment::empty))
                .isInstanceOf(ParameterException.class)
                .hasMessage("--device cuda: found GPU Fake GPU (compute 9.0, 80.0 GiB), but "
                        + CudaProbe.NOT_IMPLEMENTED + "; use --device cpu (or auto)");
    }

    @Test
    void cudaWithoutTheModuleAndUnknownDevicesAreRefused() {
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err, () -> Backends.of(List.of()),
                BackendEnvironment::empty)).hasMessageContaining("has no CUDA backend");
        assertThatThrownBy(() -> Devices.forTraining(spec(), "tpu", err, never("backends"), never("env")))
                .hasMessage("--device must be auto, cpu or cuda; got 'tpu'");
    }
}
