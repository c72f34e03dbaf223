package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Walks the elements of an output shape as rows of one or more strided operands, for elementwise kernels.
 *
 * <p>The operands are stretched to the output shape by numpy broadcasting (a stretched axis has stride 0); size-1
 * axes are dropped and neighbouring axes merged wherever every operand's strides allow, so that the innermost run
 * is as long as possible. A contiguous same-shape operand becomes one run, a {@code [1, C, 1, 1]} operand of an
 * NCHW output becomes runs of {@code H·W} with stride 0, and so on. Kernels then vectorise each run according to
 * its operands' inner strides (1 or 0) and fall back to scalar code for others.
 */
final class StridedRows {
    /** Longest run handed to a kernel at once, so that run lengths fit an int. */
    private static final long MAX_RUN = 1L << 30;

    /** The work on one run: operand {@code k} starts at element {@code offs[k]}; the run is {@code len} long. */
    @FunctionalInterface
    interface Row {
        /**
         * @param offs  element offset of the run's first element in each operand's segment (do not modify)
         * @param index row-major index of the run's first element within the output shape
         */
        void run(long[] offs, long index, int len);
    }

    private final int m;
    private final long[] dims;
    private final long[][] strides;
    private final long[] base;
    private final long rows;
    private final long inner;

    private StridedRows(int m, long[] dims, long[][] strides, long[] base) {
        this.m = m;
        this.dims = dims;
        this.strides = strides;
        this.base = base;
        long r = 1;
        for (int d = 0; d < m - 1; d++) {
            r *= dims[d];
        }
        this.rows = r;
        this.inner = m == 0 ? 1 : dims[m - 1];
    }

    /**
     * The rows of {@code out}-shaped iteration over {@code operands}, each of which must broadcast to {@code out}.
     */
    static StridedRows of(Shape out, Tensor... operands) {
        int r = out.rank(), k = operands.length;
        long[][] st = new long[k][];
        long[] base = new long[k];
        for (int j = 0; j < k; j++) {
            st[j] = alignedStrides(operands[j], out);
            base[j] = operands[j].offset();
        }
        long[] dims = new long[r];
        long[][] cs = new long[k][r];
        int m = 0;
        for (int i = 0; i < r; i++) {
            long d = out.dim(i);
            if (d == 1) {
                continue;
            }
            if (d == 0) {
                return new StridedRows(1, new long[]{0}, new long[k][1], base);
            }
            boolean merge = m > 0;
            for (int j = 0; j < k && merge; j++) {
                merge = cs[j][m - 1] == st[j][i] * d;
            }
            if (merge) {
                dims[m - 1] *= d;
                for (int j = 0; j < k; j++) {
                    cs[j][m - 1] = st[j][i];
                }
            } else {
                dims[m] = d;
                for (int j = 0; j < k; j++) {
                    cs[j][m] = st[j][i];
                }
                m++;
            }
        }
        return new StridedRows(m, dims, cs, base);
    }

    private static long[] alignedStrides(Tensor t, Shape out) {
        int r = out.rank(), lead = r - t.rank();
        long[] own = t.strides();
        long[] st = new long[r];
        for (int i = lead; i < r; i++) {
            st[i] = t.shape().dim(i - lead) == 1 ? 0 : own[i - lead];
        }
        return st;
    }

    /** Elements in all. */
    long size() {
        return rows * inner;
    }

    /** Stride of operand {@code k} along the runs (in elements). */
    long innerStride(int k) {
        return m == 0 ? 1 : strides[k][m - 1];
    }

    /**
     * Calls {@code row} for every run, in parallel chunks on {@code pool} when the work is large. Few long rows
     * (the same-shape contiguous case is a single row) are cut into pieces so that every thread gets some.
     */
    void forEach(ThreadPool pool, Row row) {
        long total = size();
        if (total == 0) {
            return;
        }
        long want = 4L * pool.threads();
        long parts = 1;
        if (rows < want && total >= Chunks.PARALLEL_MIN_COST) {
            parts = Math.max(1, Math.min((want + rows - 1) / rows, inner / 1024));
        }
        parts = Math.max(parts, (inner + MAX_RUN - 1) / MAX_RUN);
        long p = parts;
        int units = Math.toIntExact(rows * p);
        int k = base.length;
        Chunks.run(pool, units, total, (from, to) -> {
            long[] offs = new long[k];
            long[] idx = new long[Math.max(0, m - 1)];
            if (p == 1) {
                seek(from, idx, offs);
                for (long u = from; u < to; u++) {
                    row.run(offs, u * inner, (int) inner);
                    advance(idx, offs);
                }
                return;
            }
            for (int u = from; u < to; u++) {
                long r = u / p, part = u % p;
                long c0 = inner * part / p, c1 = inner * (part + 1) / p;
                seek(r, idx, offs);
                for (int j = 0; j < k; j++) {
                    offs[j] += c0 * innerStride(j);
                }
                row.run(offs, r * inner + c0, (int) (c1 - c0));
            }
        });
    }

    private void seek(long r, long[] idx, long[] offs) {
        System.arraycopy(base, 0, offs, 0, offs.length);
        for (int d = m - 2; d >= 0; d--) {
            idx[d] = r % dims[d];
            r /= dims[d];
            for (int j = 0; j < offs.length; j++) {
                offs[j] += idx[d] * strides[j][d];
            }
        }
    }

    private void advance(long[] idx, long[] offs) {
        for (int d = m - 2; d >= 0; d--) {
            idx[d]++;
            for (int j = 0; j < offs.length; j++) {
                offs[j] += strides[j][d];
            }
            if (idx[d] < dims[d]) {
                return;
            }
            for (int j = 0; j < offs.length; j++) {
                offs[j] -= dims[d] * strides[j][d];
            }
            idx[d] = 0;
        }
    }
}
