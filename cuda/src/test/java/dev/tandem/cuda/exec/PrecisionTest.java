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
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.precision", "bfloat16"))).isEqualTo("bf16");
        assertThat(CudaSession.precision(none.withProperty("tandem.cuda.precision", "fp32"))).isEqualTo("float32");
    }

    @Test
    void anotherValueIsRefusedNamingTheChoices() {
        assertThatThrownBy(() -> CudaSession.precision(BackendEnvironment.empty()
                .withProperty("tandem.cuda.precision", "fp16")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tandem.cuda.precision: 'fp16' is not a precision; use tf32 (the default), float32 or bf16");
    }
}
