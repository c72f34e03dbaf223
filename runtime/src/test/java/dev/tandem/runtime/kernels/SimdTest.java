package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The forced width really is the width the kernels use, so each simd-N run tests the N-bit paths. */
@Tag("simd")
class SimdTest {
    @Test
    void usesTheForcedWidth() {
        String forced = System.getProperty("tandem.simd.bits");
        if (forced != null && !forced.isBlank()) {
            assertThat(Simd.bits()).isEqualTo(Integer.parseInt(forced.trim()));
        }
        assertThat(Sgemm.NR).isEqualTo(2 * Simd.bits() / 32);
    }
}
