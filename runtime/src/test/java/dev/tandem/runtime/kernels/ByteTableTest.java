package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link ByteTable} against the plain lookup, every byte value, odd counts and offsets, at this JVM's SIMD width. */
@Tag("simd")
class ByteTableTest {
    @Test
    void looksUpEveryByteValue() {
        Random r = new Random(3);
        byte[] t = new byte[256];
        r.nextBytes(t);
        ByteTable table = new ByteTable(t);
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[] {0, 1, 31, 32, 63, 64, 65, 256, 1000}) {
                int off = r.nextInt(7);
                MemorySegment src = arena.allocate(n + off + 1), dst = arena.allocate(n + 2);
                for (int i = 0; i < n + off + 1; i++) {
                    src.set(ValueLayout.JAVA_BYTE, i, (byte) (n >= 256 ? i - off : r.nextInt(256)));
                }
                table.apply(src, off, dst, 1, n);
                for (int i = 0; i < n; i++) {
                    int b = src.get(ValueLayout.JAVA_BYTE, off + i) & 0xFF;
                    assertThat(dst.get(ValueLayout.JAVA_BYTE, 1 + i)).as("byte %d of %d (index %d)", i, n, b)
                            .isEqualTo(t[b]);
                }
                // in place
                table.apply(src, off, src, off, n);
                for (int i = 0; i < n; i++) {
                    assertThat(src.get(ValueLayout.JAVA_BYTE, off + i))
                            .isEqualTo(dst.get(ValueLayout.JAVA_BYTE, 1 + i));
                }
            }
        }
        assertThatThrownBy(() -> new ByteTable(new byte[255])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("256 entries");
    }
}
