package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A few rows times a constant 8-bit matrix: {@code acc[i, j] = Σ_k x[i, k] · w[k, j]} with w ({@code k × n}, int8 or
 * uint8 values) kept as bytes, for the quantized classifier layer of a CNN at batch 1 (a GEMM would waste most of
 * its micro-tile). The weights are laid out once in panels of {@link #PANEL} columns, each panel's k rows contiguous,
 * so one pass streams a quarter of the bytes a float matrix takes; each panel's columns are accumulated in
 * registers (bytes widened to float on load) and handed to the caller's epilogue. Panels are split across threads.
 * Immutable; {@link #run} may run on many threads at once.
 *
 * <p>Vectorised when the float vectors have 8 or 16 lanes (as {@link Quant}); a scalar loop at 128 bits.
 */
public final class Int8Gemv {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = S.length();
    private static final boolean VEC = F == 8 || F == 16;
    private static final VectorSpecies<Byte> B = F >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Columns per panel: four vectors, four independent accumulator chains. */
    public static final int PANEL = 4 * F;

    private final int k;
    private final int n;
    private final boolean unsigned;
    private final MemorySegment panels;   // [panel][k][PANEL] bytes, zero past column n

    /** What is done with a panel's sums: columns {@code j0 .. j0 + count) of row {@code row}. */
    public interface Epilogue {
        void accept(int row, int j0, float[] acc, int count);
    }

    /**
     * @param w        the k × n matrix as bytes, element (r, j) at {@code off + r·rowStride + j·colStride} (a
     *                 transposed matrix has rowStride 1)
     * @param unsigned whether the bytes are uint8 (else int8)
     */
    public Int8Gemv(MemorySegment w, long off, int k, int n, long rowStride, long colStride, boolean unsigned) {
        this.k = k;
        this.n = n;
        this.unsigned = unsigned;
        int count = (n + PANEL - 1) / PANEL;
        byte[] p = new byte[Math.multiplyExact(Math.multiplyExact(count, k), PANEL)];
        for (int r = 0; r < k; r++) {
            for (int j = 0; j < n; j++) {
                p[(j / PANEL * k + r) * PANEL + j % PANEL] = w.get(ValueLayout.JAVA_BYTE,
                        off + r * rowStride + j * colStride);
            }
        }
        this.panels = MemorySegment.ofArray(p);
    }

    /** Bytes the laid-out weights take. */
    public long byteSize() {
        return panels.byteSize();
    }

    /**
     * For each of {@code rows} rows of {@code x} ({@code k} values each, row i at {@code i·k}), every column's sum,
     * one panel at a time to {@code e} (from several threads at once, each panel once).
     */
    public void run(ThreadPool pool, float[] x, int rows, Epilogue e) {
        int count = (n + PANEL - 1) / PANEL;
        long work = (long) rows * k * n;
        int chunks = work < (1 << 16) ? 1 : Math.min(count, pool.threads() * 2);
        pool.parallelFor(chunks, t -> {
            int p0 = (int) ((long) count * t / chunks), p1 = (int) ((long) count * (t + 1) / chunks);
            float[] acc = new float[PANEL];
            for (int i = 0; i < rows; i++) {
                for (int p = p0; p < p1; p++) {
                    if (VEC) {
                        panel(x, i * k, (long) p * k * PANEL, acc);
                    } else {
                        panelScalar(x, i * k, (long) p * k * PANEL, acc);
                    }
                    e.accept(i, p * PANEL, acc, Math.min(PANEL, n - p * PANEL));
                }
            }
        });
    }

    private void panel(float[] x, int xOff, long base, float[] acc) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S);
        long o = base;
        for (int r = 0; r < k; r++, o += PANEL) {
            FloatVector xr = FloatVector.broadcast(S, x[xOff + r]);
            a0 = load(o).fma(xr, a0);
            a1 = load(o + F).fma(xr, a1);
            a2 = load(o + 2 * F).fma(xr, a2);
            a3 = load(o + 3 * F).fma(xr, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, F);
        a2.intoArray(acc, 2 * F);
        a3.intoArray(acc, 3 * F);
    }

    private FloatVector load(long o) {
        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, panels, o, LE)
                .convertShape(VectorOperators.B2I, I, 0);
        return (FloatVector) (unsigned ? q.and(0xFF) : q).convertShape(VectorOperators.I2F, S, 0);
    }

    private void panelScalar(float[] x, int xOff, long base, float[] acc) {
        java.util.Arrays.fill(acc, 0f);
        long o = base;
        for (int r = 0; r < k; r++, o += PANEL) {
            float xr = x[xOff + r];
            for (int c = 0; c < PANEL; c++) {
                byte b = panels.get(ValueLayout.JAVA_BYTE, o + c);
                acc[c] = Math.fma(unsigned ? b & 0xFF : b, xr, acc[c]);
            }
        }
    }
}
