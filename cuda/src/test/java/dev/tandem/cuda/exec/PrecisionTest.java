package dev.tandem.cuda.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.backend.BackendEnvironment;
import org.junit.jupiter.api.Test;

/** How a session's precision is read from its settings (no GPU needed). */
class PrecisionTest {
    @Test
    void tf32ByDefaultFloat32WhenTf32IsOffAndThePrecisionSettingWins() {
        BackendEnvironment none = BackendEnvironment.empty();
        assertThat(CudaSession.precision(none)).isEqualTo("tf32");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.tf32", "false"))).isEqualTo("float32");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.precision", "bf16"))).isEqualTo("bf16");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.tf32", "false")
                .withProperty("tandem.cuda.precision", " BF16 "))).isEqualTo("bf16");
        assertThat(CudaSession.precision(none.withEnv("TANDEM_CUDA_PRECISION", "float32"))).isEqualTo("float32");
        // A property wins over the environment (DeviceParity asks for float32 whatever the shell exports).
        assertThat(CudaSession.precision(none.withEnv("TANDEM_CUDA_PRECISION", "bf16")
                .withProperty("tandem.cuda.precision", "float32"))).isEqualTo("float32");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.precision", "bfloat16"))).isEqualTo("bf16");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.precision", "fp32"))).isEqualTo("float32");
    }

    @Test
    void bfloat16IsRefusedBeforeAmpereWithTheDevicesName() {
        CudaSession.requireBfloat16(new dev.tandem.cuda.CudaProbe.DeviceInfo(0, "NVIDIA A100", 8, 0, 40L << 30));
        CudaSession.requireBfloat16(new dev.tandem.cuda.CudaProbe.DeviceInfo(0, "NVIDIA H100", 9, 0, 80L << 30));
        assertThatThrownBy(() -> CudaSession.requireBfloat16(
                new dev.tandem.cuda.CudaProbe.DeviceInfo(0, "Tesla V100", 7, 0, 16L << 30)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("bfloat16 mixed precision needs a GPU of compute capability 8.0 (Ampere) or "
                        + "newer; Tesla V100 (compute 7.0, 16.0 GiB) is not one");
    }

    @Test
    void anotherValueIsRefusedNamingTheChoices() {
        assertThatThrownBy(() -> CudaSession.precision(BackendEnvironment.empty()
                .withProperty("tandem.cuda.precision", "fp16")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tandem.cuda.precision: 'fp16' is not a precision; use tf32 (the default), float32 or bf16");
    }
}
