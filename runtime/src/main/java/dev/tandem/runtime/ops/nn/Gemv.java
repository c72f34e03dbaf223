package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Simd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A few rows times a constant matrix: {@code out[i, :] = alpha · a[i, :] · B + beta · out[i, :]} with B
 * ({@code k × n}) packed once at preparation into column panels of four vectors ({@code k × 4F} floats each, zero
 * padded), so that a call streams each panel once, front to back, into four register accumulators (two panels at
 * a time, eight accumulators, where a thread has two). For the classifier layers of CNNs (batch 1), where a GEMM
 * would waste most of its micro-tile and re-pack B on every call. Panels are split over the pool's threads.
 */
final class Gemv {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    /** Columns of a panel: four vectors (a multiple of {@link dev.tandem.runtime.kernels.Sgemm#NR}). */
    static final int PW = 4 * F;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Largest row count this path takes (beyond it a packed GEMM wins). */
    static final int MAX_ROWS = 4;

    private final int k;
    private final int n;
    private final int panels;
    private final float[] b;

    /** B from memory: stored {@code k × n} (row stride ldb), or {@code n × k} when {@code trans}. */
    Gemv(boolean trans, int k, int n, MemorySegment seg, long off, int ldb) {
        this.k = k;
        this.n = n;
        this.panels = (n + PW - 1) / PW;
        this.b = new float[Math.multiplyExact(Math.multiplyExact(panels, PW), k)];
        if (trans) {
            // row j of the stored n × k matrix is column j of B: one bulk read per row
            float[] row = new float[k];
            for (int j = 0; j < n; j++) {
                MemorySegment.copy(seg, FL, (off + (long) j * ldb) * 4, row, 0, k);
                int base = j / PW * PW * k + j % PW;
                for (int r = 0; r < k; r++) {
                    b[base + r * PW] = row[r];
                }
            }
        } else {
            for (int r = 0; r < k; r++) {
                for (int p = 0; p < panels; p++) {
                    int cols = Math.min(PW, n - p * PW);
                    MemorySegment.copy(seg, FL, (off + (long) r * ldb + (long) p * PW) * 4, b,
                            p * PW * k + r * PW, cols);
                }
            }
        }
    }

    /** B as column panels of {@link #PW} (see {@link dev.tandem.runtime.kernels.Sgemm#gemmColumnPanels}). */
    float[] panels() {
        return b;
    }

    /** Bytes of the laid-out copy of B. */
    long byteSize() {
        return 4L * b.length;
    }

    /**
     * @param a    the m rows (each k values) as a float array, row i at {@code i·k}
     * @param beta 0 (out not read) or the factor on what out holds
     */
    void run(ThreadPool pool, float[] a, int m, float alpha, float beta, MemorySegment out, long outOff) {
        long cost = (long) m * k * n;
        int chunks = cost < (1 << 16) ? 1 : Math.min(panels, pool.threads() * 4);
        pool.parallelFor(chunks, t -> {
            int p0 = (int) ((long) panels * t / chunks), p1 = (int) ((long) panels * (t + 1) / chunks);
            float[] acc = new float[2 * PW];
            for (int p = p0, count; p < p1; p += count) {
                // two panels at once where there are two: two streams from memory instead of one
                count = PAIRS && p + 1 < p1 ? 2 : 1;
                for (int i = 0; i < m; i++) {
                    if (count == 2) {
                        panels2(a, i * k, p * PW * k, acc);
                    } else {
                        panel(a, i * k, p * PW * k, acc);
                    }
                    for (int q = 0; q < count; q++) {
                        int cols = Math.min(PW, n - (p + q) * PW);
                        long o = outOff + (long) i * n + (long) (p + q) * PW;
                        for (int j = 0; j < cols; j++) {
                            float v = alpha * acc[q * PW + j];
                            if (beta != 0f) {
                                v += beta * out.getAtIndex(FL, o + j);
                            }
                            out.setAtIndex(FL, o + j, v);
                        }
                    }
                }
            }
        });
    }

    /**
     * System property {@code tandem.gemv.pairs} (default true; false: one panel at a time, for measurements). Two
     * panels at once are two streams from memory: MobileNetV2's classifier (1280×1000, 5 MB of weights, read from
     * L3 or memory every run) on its own 0.14–0.15 → 0.12–0.13 ms on one thread and 0.20 → 0.13–0.15 ms on two;
     * the whole model 3% faster (docs/benchmarks.md, thirteenth session).
     */
    static final boolean PAIRS = !"false".equalsIgnoreCase(System.getProperty("tandem.gemv.pairs"));

    /** {@link #panel} for panels at {@code bOff} and {@code bOff + k·PW} together, into {@code acc[0..2·PW)}. */
    private void panels2(float[] a, int aOff, int bOff, float[] acc) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        FloatVector d0 = FloatVector.zero(S), d1 = FloatVector.zero(S);
        FloatVector d2 = FloatVector.zero(S), d3 = FloatVector.zero(S);
        int second = k * PW;
        for (int r = 0; r < k; r++) {
            FloatVector av = FloatVector.broadcast(S, a[aOff + r]);
            int bo = bOff + r * PW;
            c0 = FloatVector.fromArray(S, b, bo).fma(av, c0);
            d0 = FloatVector.fromArray(S, b, bo + second).fma(av, d0);
            c1 = FloatVector.fromArray(S, b, bo + F).fma(av, c1);
            d1 = FloatVector.fromArray(S, b, bo + second + F).fma(av, d1);
            c2 = FloatVector.fromArray(S, b, bo + 2 * F).fma(av, c2);
            d2 = FloatVector.fromArray(S, b, bo + second + 2 * F).fma(av, d2);
            c3 = FloatVector.fromArray(S, b, bo + 3 * F).fma(av, c3);
            d3 = FloatVector.fromArray(S, b, bo + second + 3 * F).fma(av, d3);
        }
        c0.intoArray(acc, 0);
        c1.intoArray(acc, F);
        c2.intoArray(acc, 2 * F);
        c3.intoArray(acc, 3 * F);
        d0.intoArray(acc, PW);
        d1.intoArray(acc, PW + F);
        d2.intoArray(acc, PW + 2 * F);
        d3.intoArray(acc, PW + 3 * F);
    }

    /** {@code acc = a[aOff .. aOff+k) · panel}: the panel streamed once into four accumulators. */
    private void panel(float[] a, int aOff, int bOff, float[] acc) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        for (int r = 0; r < k; r++) {
            FloatVector av = FloatVector.broadcast(S, a[aOff + r]);
            int bo = bOff + r * PW;
            c0 = FloatVector.fromArray(S, b, bo).fma(av, c0);
            c1 = FloatVector.fromArray(S, b, bo + F).fma(av, c1);
            c2 = FloatVector.fromArray(S, b, bo + 2 * F).fma(av, c2);
            c3 = FloatVector.fromArray(S, b, bo + 3 * F).fma(av, c3);
        }
        c0.intoArray(acc, 0);
        c1.intoArray(acc, F);
        c2.intoArray(acc, 2 * F);
        c3.intoArray(acc, 3 * F);
    }
}
