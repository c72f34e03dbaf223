package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link Int8Gemv} against a double-precision sum: uint8 and int8 weights, stored k × n and transposed, column
 * counts off the panel width, one to three rows, at this JVM's SIMD width.
 */
@Tag("simd")
class Int8GemvTest extends PooledKernelTest {
    @Test
    void sumsEveryColumnOfEveryRow() {
        Random r = new Random(4);
        int[][] cases = {{1, 1, 1}, {7, 5, 2}, {64, 100, 1}, {300, 33, 3}, {1280, 77, 1}};
        try (Arena arena = Arena.ofConfined()) {
            for (int[] c : cases) {
                int k = c[0], n = c[1], rows = c[2];
                for (boolean unsigned : new boolean[] {true, false}) {
                    for (boolean trans : new boolean[] {false, true}) {
                        MemorySegment w = arena.allocate((long) k * n + 3);
                        for (long i = 0; i < w.byteSize(); i++) {
                            w.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
                        }
                        float[] x = new float[rows * k];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = r.nextInt(256) - 128;
                        }
                        // element (row kk, column j): stored [k][n], or [n][k] when transposed
                        Int8Gemv g = new Int8Gemv(w, 3, k, n, trans ? 1 : n, trans ? k : 1, unsigned);
                        float[][] got = new float[rows][n];
                        int[][] seen = new int[rows][n];
                        g.run(pool, x, rows, (row, j0, acc, count) -> {
                            for (int j = 0; j < count; j++) {
                                got[row][j0 + j] = acc[j];
                                seen[row][j0 + j]++;
                            }
                        });
                        for (int i = 0; i < rows; i++) {
                            for (int j = 0; j < n; j++) {
                                double want = 0, bound = 0;
                                for (int kk = 0; kk < k; kk++) {
                                    byte b = w.get(ValueLayout.JAVA_BYTE, 3 + (trans ? (long) j * k + kk
                                            : (long) kk * n + j));
                                    double wv = unsigned ? b & 0xFF : b;
                                    want += x[i * k + kk] * wv;
                                    bound += Math.abs(x[i * k + kk] * wv);
                                }
                                assertThat(seen[i][j]).isEqualTo(1);
                                assertThat((double) got[i][j]).as("k %d n %d row %d column %d", k, n, i, j)
                                        .isCloseTo(want, Offset.offset(1e-6 * bound + 1e-3));
                            }
                        }
                    }
                }
            }
        }
    }
}
