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

    @Test
    void cpuNeverLooksForABackend() {
        assertThat(Devices.forTraining(spec(), "cpu", err, never("the backends"), never("the environment")))
                .isEqualTo("cpu");
        assertThat(errText.toString()).isEmpty();
    }

    @Test
    void autoWithoutAGpuBackendSaysSo() {
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of()), BackendEnvironment::empty))
                .isEqualTo("cpu");
        assertThat(errText.toString()).isEqualTo("Device: cpu (" + CORES + "; this build has no GPU backend)\n");
    }

    @Test
    void autoWithoutAGpuSaysWhyInOneLineAndUsesTheCpu() {
        assertThat(Devices.forTraining(spec(), "auto", err, () -> Backends.of(List.of(new CudaBackendProvider())),
                () -> NOTHING)).isEqualTo("cpu");
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
                BackendEnvironment::empty)).isEqualTo("cpu");
        assertThat(errText.toString()).startsWith("Device: cpu (" + CORES + "); found GPU Fake GPU (compute 9.0, "
                + "80.0 GiB), but GPU training execution is not implemented yet (issue #5");
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err,
                () -> Backends.of(List.of(GPU_WITHOUT_TRAINING)), BackendEnvironment::empty))
                .isInstanceOf(ParameterException.class)
                .hasMessageStartingWith("--device cuda: found GPU Fake GPU (compute 9.0, 80.0 GiB), but GPU training "
                        + "execution is not implemented yet (issue #5")
                .hasMessageEndingWith("; use --device cpu (or auto)");
    }

    @Test
    void cudaWithoutTheModuleAndUnknownDevicesAreRefused() {
        assertThatThrownBy(() -> Devices.forTraining(spec(), "cuda", err, () -> Backends.of(List.of()),
                BackendEnvironment::empty)).hasMessageContaining("has no CUDA backend");
        assertThatThrownBy(() -> Devices.forTraining(spec(), "tpu", err, never("backends"), never("env")))
                .hasMessage("--device must be auto, cpu or cuda; got 'tpu'");
    }
}
