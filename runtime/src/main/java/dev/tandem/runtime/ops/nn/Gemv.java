package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Simd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A few rows times a constant matrix: {@code out[i, :] = alpha · a[i, :] · B + beta · out[i, :]} with B
 * ({@code k × n}) laid out row-major once at preparation. For the classifier layers of CNNs (batch 1), where a GEMM
 * would waste most of its micro-tile and re-pack B on every call; this streams B once, vectorised along n, split
 * over columns across threads.
 */
final class Gemv {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Largest row count this path takes (beyond it a packed GEMM wins). */
    static final int MAX_ROWS = 4;

    private final int k;
    private final int n;
    private final float[] b;

    /** B from memory: stored {@code k × n} (row stride ldb), or {@code n × k} when {@code trans}. */
    Gemv(boolean trans, int k, int n, MemorySegment seg, long off, int ldb) {
        this.k = k;
        this.n = n;
        this.b = new float[Math.multiplyExact(k, n)];
        for (int r = 0; r < k; r++) {
            for (int j = 0; j < n; j++) {
                long idx = trans ? off + (long) j * ldb + r : off + (long) r * ldb + j;
                b[r * n + j] = seg.getAtIndex(FL, idx);
            }
        }
    }

    /**
     * @param a    the m rows (each k values) as a float array, row i at {@code i·k}
     * @param beta 0 (out not read) or the factor on what out holds
     */
    void run(ThreadPool pool, float[] a, int m, float alpha, float beta, MemorySegment out, long outOff) {
        int blocks = (n + F - 1) / F;
        long cost = (long) m * k * n;
        int chunks = cost < (1 << 16) ? 1 : Math.min(blocks, pool.threads() * 2);
        pool.parallelFor(chunks, t -> {
            int j0 = (int) ((long) blocks * t / chunks) * F;
            int j1 = Math.min(n, (int) ((long) blocks * (t + 1) / chunks) * F);
            float[] acc = new float[j1 - j0 + F];
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(acc, 0f);
                row(a, i * k, j0, j1, acc);
                long o = outOff + (long) i * n;
                for (int j = j0; j < j1; j++) {
                    float v = alpha * acc[j - j0];
                    if (beta != 0f) {
                        v += beta * out.getAtIndex(FL, o + j);
                    }
                    out.setAtIndex(FL, o + j, v);
                }
            }
        });
    }

    private void row(float[] a, int aOff, int j0, int j1, float[] acc) {
        int len = j1 - j0;
        int vecEnd = len - len % F;
        for (int r = 0; r < k; r++) {
            float av = a[aOff + r];
            if (av == 0f) {
                continue;
            }
            int bo = r * n + j0;
            int j = 0;
            for (; j < vecEnd; j += F) {
                FloatVector.fromArray(S, b, bo + j).fma(FloatVector.broadcast(S, av), FloatVector.fromArray(S, acc, j))
                        .intoArray(acc, j);
            }
            for (; j < len; j++) {
                acc[j] += av * b[bo + j];
            }
        }
    }
}
