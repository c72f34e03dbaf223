package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply, row-major: {@code C = act(alpha · op(A) · op(B) + beta · C + bias)}, where
 * {@code op(X)} is X or its transpose, A is m×k, B is k×n and C is m×n after {@code op}.
 *
 * <p>The classic blocked algorithm (Goto/BLIS): A is packed once per call into {@link #MR}-row panels (shared
 * by all threads), B in {@code kc×nc} blocks of {@link #NR}-wide column panels (per thread, sized to stay in
 * L2), and a register-blocked {@code MR × NR} micro-kernel (24 vector accumulators where the CPU has 32 vector
 * registers, else 12) does the multiply-adds. The output is cut into a few parts per thread of the
 * {@link ThreadPool} given to the constructor, along the longer of m and n, and threads take parts as they
 * finish (balancing when one core is slowed by a neighbour). Packing buffers are per thread and reused; a call
 * allocates only a few small objects (operand descriptors, a row buffer), never per tile.
 *
 * <p>Operands are {@link MemorySegment}s with element offsets and leading dimensions (row strides, in elements).
 * A constant left operand (weights) can be packed once with {@link #packA} and reused.
 *
 * <p>Threads: an instance may be used by several threads at once. The scalar reference is
 * {@link dev.tandem.runtime.kernels.reference.ReferenceGemm}.
 */
public final class Sgemm {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    /**
     * Whether the CPU has 32 vector registers (x86 with AVX-512, or AArch64), enough for the 12-row
     * micro-kernel's 24 accumulators. With 16 (AVX2) it would spill, so the 6-row kernel is used throughout.
     */
    private static final boolean WIDE_REGISTER_FILE = Simd.nativeBits() >= 512
            || System.getProperty("os.arch", "").equals("aarch64");
    /** Rows of the small micro-kernel, used for short last panels too. */
    static final int MR_SMALL = 6;
    /** Rows of the middle micro-kernel, for 7- and 8-row panels where the CPU has 32 vector registers. */
    static final int MR_MID = 8;
    /**
     * Rows of an A panel (and of the main micro-kernel tile). 12 rows × 2 vectors halves the bandwidth the B
     * panels need from L2 compared with 6 rows: 2 vector loads feed 24 FMAs instead of 12.
     */
    public static final int MR = WIDE_REGISTER_FILE ? 12 : MR_SMALL;
    /** Columns of the micro-kernel tile (two vectors). */
    public static final int NR = 2 * VL;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * Parts per thread the output is cut into: threads take parts as they finish, so a core slowed by a
     * neighbour does less (measured: 3 per thread ran 5–40% faster than 1 on a noisy 2-core VM).
     */
    private static final int PARTS_PER_THREAD = 3;
    /** Below this many multiply-adds a call runs on one thread: handing off costs more than it saves. */
    private static final long PARALLEL_MIN_MACS = 1L << 17;
    /**
     * Below this many multiply-adds a one-column product runs on one thread (it does one per element of A: an SE
     * block's 55 thousand take about 5 µs, less than two hand-offs; a 1280 → 1000 classifier as a 1×1 convolution,
     * 1.3 million, is bound by reading its 5 MB of weights, which two cores do faster).
     */
    private static final long COLUMN_PARALLEL_MACS = 1L << 20;
    /** Narrowest B (columns, its row stride) read in place by the store kernels. */
    static final int IN_PLACE_MIN_WIDTH = 512;
    /** {@code -Dtandem.gemm.directB=false}: B always packed (for measurements). */
    private static final boolean DIRECT_B = !"false".equals(System.getProperty("tandem.gemm.directB"));
    /**
     * Last column tiles of at most {@link #VL} + 1 columns take the narrow 12-row kernels (12 registers of A times
     * one vector of B, and for 17 columns one more column); {@code -Dtandem.gemm.narrow=false} turns them off
     * (measurements). Only with 12-row panels and vectors of at least 12 lanes.
     */
    private static final boolean NARROW_TILES = !"false".equals(System.getProperty("tandem.gemm.narrow"))
            && WIDE_REGISTER_FILE && VL >= 12 && NR == 2 * VL;

    private static final float NO_LOW = Float.NEGATIVE_INFINITY;
    private static final float NO_HIGH = Float.POSITIVE_INFINITY;

    private final ThreadPool pool;
    private final int kcMax;
    private final int ncMax;
    private final ThreadLocal<Scratch> scratch;
    /** This GEMM on the calling thread alone (sharing its per-thread buffers); itself when the pool has one thread. */
    private final Sgemm serial;
    private static final ThreadPool CALLER_ONLY = ThreadPool.singleThreaded();

    /**
     * A GEMM running on {@code pool}'s threads, with default cache blocking (1200, 256; for experiments,
     * {@code -Dtandem.gemm.kc=} and {@code -Dtandem.gemm.nc=} override them).
     */
    public Sgemm(ThreadPool pool) {
        this(pool, Integer.getInteger("tandem.gemm.kc", 1200), Integer.getInteger("tandem.gemm.nc", 256));
    }

    /**
     * A GEMM with explicit cache blocking: {@code kc} (the largest depth block; the depth is cut into equal blocks
     * no larger) and {@code nc} (columns of a packed B block, rounded up to a multiple of {@link #NR}). The B
     * block ({@code kc·nc} floats) should fit in L2 with room to spare; an A panel ({@code MR·kc} floats) in L1.
     * Defaults (1200, 256), measured on a Sapphire Rapids machine (docs/benchmarks.md): 640 ran a plain 1024³
     * GEMM as fast, but a deeper block means fewer read-modify-write passes over C, and convolutions write C
     * through short per-row runs: ResNet-18 at batch 1 ran 8–10% faster with 1200 (K up to 4608), MobileNetV2
     * and EfficientNet-B0 unchanged within 3%.
     */
    public Sgemm(ThreadPool pool, int kc, int nc) {
        if (kc < 1 || nc < 1) {
            throw new IllegalArgumentException("Blocking sizes must be positive: kc=" + kc + " nc=" + nc);
        }
        this.pool = pool;
        this.kcMax = kc;
        this.ncMax = roundUp(nc, NR);
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(kcMax, ncMax));
        this.serial = pool.threads() == 1 ? this : new Sgemm(this);
    }

    /** The serial twin of {@code parent}: same blocking and per-thread buffers, the caller's thread only. */
    private Sgemm(Sgemm parent) {
        this.pool = CALLER_ONLY;
        this.kcMax = parent.kcMax;
        this.ncMax = parent.ncMax;
        this.scratch = parent.scratch;
        this.serial = this;
    }

    /**
     * This GEMM run entirely on the calling thread, for callers that already split their work over the pool (one
     * task per channel block or per image) and call kernels from inside those tasks. It shares this GEMM's
     * per-thread buffers, so it costs no memory of its own.
     */
    public Sgemm serial() {
        return serial;
    }

    /**
     * The largest depth block: a reduction longer than this is cut into blocks whose partial sums accumulate in C
     * (so a C that cannot hold partial sums, such as 8-bit output, needs k at most this).
     */
    public int depthBlock() {
        return kcMax;
    }

    /** The pool this GEMM runs on. */
    public ThreadPool pool() {
        return pool;
    }

    /**
     * {@code C = alpha · op(A) · op(B) + beta · C}. With {@code beta == 0} C is not read (it may hold NaN).
     *
     * @param transA A is stored k×m (row stride {@code lda}) and used transposed
     * @param transB B is stored n×k (row stride {@code ldb}) and used transposed
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                     float beta, MemorySegment c, long cOff, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, null, Activation.NONE);
    }

    /**
     * {@code C = act(alpha · op(A) · op(B) + beta · C + rowBias)}; {@code rowBias[i]} (may be null) is added to
     * row i of C.
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                     float beta, MemorySegment c, long cOff, int ldc, float[] rowBias, Activation act) {
        checkDims(m, n, k);
        checkOperand("A", a, aOff, transA ? k : m, transA ? m : k, lda);
        checkOperand("B", b, bOff, transB ? n : k, transB ? k : n, ldb);
        checkOperand("C", c, cOff, m, n, ldc);
        checkBias(rowBias, m);
        if (m == 0 || n == 0) {
            return;
        }
        PackedA packed = k == 0 ? new PackedA(m, 0, new float[0]) : packShared(transA, m, k, a, aOff, lda);
        run(m, n, k, alpha, packed, new MatrixB(transB, b, bOff, ldb), beta, new MatrixC(c, cOff, ldc), rowBias,
                act);
    }

    /**
     * {@code C = act(alpha · A · op(B) + beta · C + rowBias)} with A packed beforehand by {@link #packA}.
     */
    public void gemm(PackedA a, boolean transB, int n, float alpha, MemorySegment b, long bOff, int ldb,
                     float beta, MemorySegment c, long cOff, int ldc, float[] rowBias, Activation act) {
        checkDims(a.m, n, a.k);
        checkOperand("B", b, bOff, transB ? n : a.k, transB ? a.k : n, ldb);
        checkOperand("C", c, cOff, a.m, n, ldc);
        checkBias(rowBias, a.m);
        run(a.m, n, a.k, alpha, a, new MatrixB(transB, b, bOff, ldb), beta, new MatrixC(c, cOff, ldc), rowBias,
                act);
    }

    /**
     * {@code C = alpha · op(A) · B + beta · C} with B (k × n) held as column panels of {@code pw} columns: panel p
     * at {@code p·pw·k}, element (r, j) at {@code (j / pw)·pw·k + r·pw + j % pw}, zero-padded to whole panels
     * ({@code pw} a multiple of {@link #NR}). For a constant B laid out once for a matrix-vector kernel
     * (the classifier of a CNN), so that larger batches read the same copy.
     */
    public void gemmColumnPanels(boolean transA, int m, int n, int k, float alpha, MemorySegment a, long aOff,
                                 int lda, float[] bPanels, int pw, float beta, MemorySegment c, long cOff, int ldc) {
        checkDims(m, n, k);
        checkOperand("A", a, aOff, transA ? k : m, transA ? m : k, lda);
        checkOperand("C", c, cOff, m, n, ldc);
        if (pw <= 0 || pw % NR != 0 || (long) (n + pw - 1) / pw * pw * k > bPanels.length) {
            throw new IllegalArgumentException("B panels of width " + pw + " (a multiple of " + NR + ") for " + k
                    + "x" + n + " need " + (long) (n + pw - 1) / pw * pw * k + " floats; got " + bPanels.length);
        }
        if (m == 0 || n == 0) {
            return;
        }
        PackedA packed = k == 0 ? new PackedA(m, 0, new float[0]) : packShared(transA, m, k, a, aOff, lda);
        run(m, n, k, alpha, packed, new MatrixB(bPanels, pw, k), beta, new MatrixC(c, cOff, ldc), null,
                Activation.NONE);
    }

    /**
     * Runs with a caller-supplied B packer and C writer (used by convolution to build im2col panels on the fly and
     * to scatter output columns). Package-private: those contracts are internal; the caller checks bounds.
     */
    void gemm(PackedA a, BPacker b, int n, float beta, CWriter c, float[] rowBias, Activation act) {
        checkDims(a.m, n, a.k);
        run(a.m, n, a.k, 1f, a, b, beta, c, rowBias, act);
    }

    /**
     * As {@link #gemm(PackedA, BPacker, int, float, CWriter, float[], Activation)}, entirely on the calling thread
     * (for callers that already run one GEMM per pool thread, e.g. one image each).
     */
    void gemmSerial(PackedA a, BPacker b, int n, float beta, CWriter c, float[] rowBias, Activation act) {
        checkDims(a.m, n, a.k);
        if (a.m == 0 || n == 0) {
            return;
        }
        if (a.k == 0) {
            c.scaleOnly(a.m, n, beta, rowBias, act);
            return;
        }
        block(0, panels(a.m), 0, n, a.k, 1f, a, b, null, beta, c, rowBias, act);
    }

    /**
     * One B panel through A panels [p0, p1), on the calling thread, the whole depth at once: {@code C = A · B}
     * with B a k×NR panel at {@code b[bOff]} (row stride {@code ldb}) and C rows of NR floats at
     * {@code c[cOff + row·ldc]}. A short last panel writes its kernel's full row count (up to {@link #MR} rows
     * from its first), so C needs that much room past row m. For callers that lay B out as packed panels
     * themselves (Winograd's transformed input).
     */
    static void panelProduct(PackedA a, int p0, int p1, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        float[] ap = a.data;
        int k = a.k;
        for (int panel = p0; panel < p1; panel++) {
            int row = panelStart(a.m, panel);
            int stride = panelStride(panelRows(a.m, panel));
            int ao = row * k;
            int to = cOff + row * ldc;
            if (stride == MR_SMALL) {
                kernel6(k, ap, ao, b, bOff, ldb, c, to, ldc);
            } else if (stride == MR_MID) {
                kernel8(k, ap, ao, b, bOff, ldb, c, to, ldc);
            } else {
                kernel12(k, ap, ao, b, bOff, ldb, c, to, ldc);
            }
        }
    }

    /**
     * Packs a constant left operand once (m×k, or k×m stored when {@code transA}) into the micro-kernel's panel
     * layout, for repeated {@link #gemm(PackedA, boolean, int, float, MemorySegment, long, int, float,
     * MemorySegment, long, int, float[], Activation)} calls.
     */
    public static PackedA packA(boolean transA, int m, int k, MemorySegment a, long aOff, int lda) {
        checkDims(m, 1, k);
        checkOperand("A", a, aOff, transA ? k : m, transA ? m : k, lda);
        float[] data = new float[packedSize(m, k)];
        packPanels(transA, a, aOff, lda, m, k, 0, panels(m), data);
        return new PackedA(m, k, data);
    }

    private static int packedSize(int m, int k) {
        return Math.multiplyExact(roundUp(m, MR), Math.max(k, 1));
    }

    /** Packs A for one call into the calling thread's scratch, panels spread over the pool. */
    private PackedA packShared(boolean transA, int m, int k, MemorySegment a, long aOff, int lda) {
        float[] data = scratch.get().packedA(packedSize(m, k));
        int panels = panels(m);
        int chunks = (long) m * k < PARALLEL_MIN_MACS ? 1 : Math.min(panels, pool.threads() * 2);
        pool.parallelFor(chunks, t -> packPanels(transA, a, aOff, lda, m, k, panels * t / chunks,
                panels * (t + 1) / chunks, data));
        return new PackedA(m, k, data);
    }

    /**
     * Packs panels [p0, p1) of an m×k A (all of k) into {@code dst}: panel p at {@code panelStart(m, p)·k},
     * element (r, kk) at {@code kk·stride + r} with stride {@link #panelStride}(rows of the panel), zero-padded to
     * the stride.
     */
    private static void packPanels(boolean trans, MemorySegment seg, long off, int ld, int m, int k, int p0, int p1,
                                   float[] dst) {
        float[] row = trans ? null : new float[k];
        for (int p = p0; p < p1; p++) {
            int start = panelStart(m, p);
            int base = start * k;
            int rows = panelRows(m, p);
            int stride = panelStride(rows);
            for (int r = 0; r < stride; r++) {
                int i = start + r;
                if (r >= rows) {
                    for (int kk = 0; kk < k; kk++) {
                        dst[base + kk * stride + r] = 0f;
                    }
                } else if (!trans) {
                    // one bulk copy of the row, then an array-to-array interleave: much cheaper than element-wise
                    // segment reads
                    MemorySegment.copy(seg, FL, (off + (long) i * ld) * 4, row, 0, k);
                    for (int kk = 0; kk < k; kk++) {
                        dst[base + kk * stride + r] = row[kk];
                    }
                } else {
                    for (int kk = 0; kk < k; kk++) {
                        dst[base + kk * stride + r] = seg.getAtIndex(FL, off + (long) kk * ld + i);
                    }
                }
            }
        }
    }

    /** Row stride of an A panel holding {@code rows} rows: short last panels use the 6- or 8-row kernel. */
    static int panelStride(int rows) {
        return rows <= MR_SMALL ? MR_SMALL : rows <= MR_MID && MR > MR_MID ? MR_MID : MR;
    }

    /**
     * A panels of an m-row A. All hold {@link #MR} rows but the last one or two: a remainder of 7 or 8 rows is one
     * 8-row panel, a remainder of 4 takes 4 rows from the panel before it and makes two 8-row panels (64 = 4·12 +
     * 2·8: convolutions have 32, 64, 128, 256 or 512 output channels, never a multiple of 12, and the 6-row
     * kernel ran a 4-row remainder at 76% of the 12-row kernel's rate per row), any other remainder one short
     * panel.
     */
    static int panels(int m) {
        int full = m / MR, tail = m % MR;
        return tail == 0 ? full : full + 1;
    }

    /** First row of panel p of an m-row A. */
    static int panelStart(int m, int p) {
        if (splitsTail(m) && p == m / MR) {
            return m - MR_MID;
        }
        return p * MR;
    }

    /** Rows of panel p of an m-row A. */
    static int panelRows(int m, int p) {
        if (splitsTail(m) && p >= m / MR - 1) {
            return MR_MID;
        }
        return Math.min(MR, m - p * MR);
    }

    /** Whether panels [p0, p1) of an m-row A all have the full row count of a 12- or 8-row kernel. */
    private static boolean wholePanels(int m, int p0, int p1) {
        for (int p = p0; p < p1; p++) {
            int rows = panelRows(m, p);
            if (rows != panelStride(rows) || rows == MR_SMALL) {
                return false;
            }
        }
        return true;
    }

    /** Whether the last 12 + 4 rows of an m-row A are cut into two 8-row panels. */
    private static boolean splitsTail(int m) {
        return MR > MR_MID && m > MR && m % MR == 2 * MR_MID - MR;
    }

    private void run(int m, int n, int k, float alpha, PackedA a, BPacker b, float beta, CWriter c,
                     float[] bias, Activation act) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            c.scaleOnly(m, n, beta, bias, act);
            return;
        }
        if (n == 1 && MR <= VL) {
            columnProduct(m, k, alpha, a, b, beta, c, bias, act);
            return;
        }
        int mTiles = panels(m);
        int nTiles = (n + NR - 1) / NR;
        long macs = (long) m * n * k;
        int threads = macs < PARALLEL_MIN_MACS ? 1 : pool.threads();
        if (threads == 1) {
            block(0, mTiles, 0, n, k, alpha, a, b, null, beta, c, bias, act);
            return;
        }
        // Split the longer side: every part streams the whole of the other operand, so the shorter one is the one
        // to re-read (A is m·k, B is k·n). Splitting m, B is packed once up front and shared.
        boolean splitN = (long) nTiles * NR >= (long) mTiles * MR;
        int tiles = splitN ? nTiles : mTiles;
        int parts = Math.min(threads * PARTS_PER_THREAD, tiles);
        float[] sharedB = splitN || readsBInPlace(b, alpha, beta, c, act) ? null : packSharedB(b, k, n, nTiles);
        pool.parallelFor(parts, p -> {
            int t0 = (int) ((long) tiles * p / parts);
            int t1 = (int) ((long) tiles * (p + 1) / parts);
            if (splitN) {
                block(0, mTiles, t0 * NR, Math.min(n, t1 * NR), k, alpha, a, b, null, beta, c, bias, act);
            } else {
                block(t0, t1, 0, n, k, alpha, a, b, sharedB, beta, c, bias, act);
            }
        });
    }

    /**
     * C (m × 1) = act(alpha · A · b + beta · C + bias) for a B of one column, on the calling thread: each A panel
     * times the column, one (masked) vector of the panel's rows per step of k, four steps in flight. Why: a 1×1
     * convolution of a 1×1 image (the squeeze-and-excitation blocks of EfficientNet, MobileNetV3) is such a product;
     * through the tiles it packed its column into 32-wide zero-padded panels (a copy call and a fill per row of B) and
     * computed 32 columns for one: 20 µs for a 48×1152 product that needs 55 thousand multiply-adds.
     */
    private void columnProduct(int m, int k, float alpha, PackedA a, BPacker b, float beta, CWriter c, float[] bias,
                               Activation act) {
        Scratch s = scratch.get();
        float[] x = s.column(k);
        b.column(k, x, s.b);
        // the whole column first (panels over the pool when A is large: the product is bound by reading A)
        float[] y = s.columnOut(m);
        int panels = panels(m);
        int parts = (long) m * k < COLUMN_PARALLEL_MACS ? 1 : Math.min(panels, pool.threads() * PARTS_PER_THREAD);
        pool.parallelFor(parts, t -> {
            float[] acc = scratch.get().lanes;
            for (int panel = panels * t / parts, p1 = panels * (t + 1) / parts; panel < p1; panel++) {
                int row = panelStart(m, panel), mr = panelRows(m, panel);
                columnPanel(a.data, row * k, panelStride(mr), k, x, acc);
                System.arraycopy(acc, 0, y, row, mr);
            }
        });
        if (c instanceof MatrixC mc && mc.q == null) {
            // a float column: one pass of bias, beta and activation, one store (a writer call per row cost more
            // than the products: 48 µs for 1152 rows with a sigmoid)
            for (int i = 0; i < m; i++) {
                float v = alpha * y[i] + (bias == null ? 0f : bias[i]);
                y[i] = beta == 0f ? v : v + beta * mc.seg.getAtIndex(FL, mc.off + (long) i * mc.ld);
            }
            act.applyInPlace(y, 0, m);
            if (mc.ld == 1) {
                MemorySegment.copy(y, 0, mc.seg, FL, mc.off * 4, m);
            } else {
                for (int i = 0; i < m; i++) {
                    mc.seg.setAtIndex(FL, mc.off + (long) i * mc.ld, y[i]);
                }
            }
            return;
        }
        // other writers (8-bit output): a panel at a time through the tile
        float[] tile = s.tile;
        for (int panel = 0; panel < panels; panel++) {
            int row = panelStart(m, panel), mr = panelRows(m, panel);
            for (int r = 0; r < mr; r++) {
                tile[r * NR] = y[row + r];
            }
            c.write(tile, row, mr, 0, 1, alpha, beta, bias, act);
        }
    }

    /** {@code out[r] = Σ_kk a[ao + kk·stride + r] · x[kk]} for r < stride (at most one vector). */
    private static void columnPanel(float[] a, int ao, int stride, int k, float[] x, float[] out) {
        jdk.incubator.vector.VectorMask<Float> rows = S.indexInRange(0, stride);
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int kk = 0;
        for (; kk + 4 <= k; kk += 4) {
            int o = ao + kk * stride;
            s0 = FloatVector.fromArray(S, a, o, rows).fma(FloatVector.broadcast(S, x[kk]), s0);
            s1 = FloatVector.fromArray(S, a, o + stride, rows).fma(FloatVector.broadcast(S, x[kk + 1]), s1);
            s2 = FloatVector.fromArray(S, a, o + 2 * stride, rows).fma(FloatVector.broadcast(S, x[kk + 2]), s2);
            s3 = FloatVector.fromArray(S, a, o + 3 * stride, rows).fma(FloatVector.broadcast(S, x[kk + 3]), s3);
        }
        for (; kk < k; kk++) {
            s0 = FloatVector.fromArray(S, a, ao + kk * stride, rows).fma(FloatVector.broadcast(S, x[kk]), s0);
        }
        s0.add(s1).add(s2.add(s3)).intoArray(out, 0);
    }

    /**
     * Whether the store kernels read B where it lies instead of from packed panels: B a plain row-major float
     * matrix in native memory, C a float matrix written with alpha 1, beta 0 or 1 and a clamp activation. Why:
     * a 1×1 convolution with few output channels (MobileNetV2's projections: 16–32 rows) reads each packed
     * panel only once or twice, so packing (a read and a write of all of B) cost about as much as the products.
     * Tiles the store kernels do not take (short panels, the last partial column tile) are packed one at a time.
     */
    private static boolean readsBInPlace(BPacker b, float alpha, float beta, CWriter c, Activation act) {
        return DIRECT_B && WIDE_REGISTER_FILE && b instanceof MatrixB mb && mb.inPlace() && c instanceof MatrixC mc
                && mc.q == null && alpha == 1f && (beta == 0f || beta == 1f) && act.isClamp();
    }

    /** Packs all of B (k × n) into the calling thread's scratch, panels spread over the pool: panel q at q·NR·k. */
    private float[] packSharedB(BPacker b, int k, int n, int nTiles) {
        float[] data = scratch.get().packedB(Math.multiplyExact(nTiles * NR, k));
        int chunks = Math.min(nTiles, pool.threads() * 2);
        pool.parallelFor(chunks, t -> {
            int q0 = nTiles * t / chunks, q1 = nTiles * (t + 1) / chunks;
            if (q1 > q0) {
                b.pack(0, k, q0 * NR, Math.min(n, q1 * NR) - q0 * NR, data, q0 * NR * k);
            }
        });
        return data;
    }

    /**
     * Computes the C rows of A panels [p0, p1) × columns [n0, n1) on the calling thread. B comes packed whole
     * ({@code sharedB}, panel q at q·NR·k) or is packed here block by block.
     */
    private void block(int p0, int p1, int n0, int n1, int k, float alpha, PackedA a, BPacker b, float[] sharedB,
                       float beta, CWriter c, float[] bias, Activation act) {
        if (c instanceof StagedCWriter sc && sc.stages(beta, act) && p1 > p0 && n1 > n0) {
            int r0 = panelStart(a.m, p0), r1 = p1 == panels(a.m) ? a.m : panelStart(a.m, p1);
            int rows = r1 - r0;
            boolean addOld = beta != 0f;
            // column windows of whole NR panels, as wide as the stage allows
            int window = (int) Math.max(NR, Math.min(roundUp(n1 - n0, NR), STAGE_FLOATS / rows / NR * NR));
            for (int w0 = n0; w0 < n1; w0 += window) {
                int w1 = Math.min(n1, w0 + window), ld = w1 - w0;
                float[] stage = scratch.get().stage(Math.multiplyExact(rows, ld));
                MatrixC into = new MatrixC(MemorySegment.ofArray(stage), -((long) r0 * ld + w0), ld);
                blockDirect(p0, p1, w0, w1, k, alpha, a, b, sharedB, 0f, into, bias, addOld ? Activation.NONE : act);
                sc.flush(stage, ld, r0, r1, w0, w1, addOld, act);
            }
            return;
        }
        blockDirect(p0, p1, n0, n1, k, alpha, a, b, sharedB, beta, c, bias, act);
    }

    /**
     * Floats of a staged block of C (512 KB: it stays in L2 between the micro-kernel's stores and the flush; a
     * whole 3 MB convolution output staged at once cost as much memory traffic as staging saved).
     */
    private static final int STAGE_FLOATS = 128 << 10;

    private void blockDirect(int p0, int p1, int n0, int n1, int k, float alpha, PackedA a, BPacker b,
                             float[] sharedB, float beta, CWriter c, float[] bias, Activation act) {
        Scratch s = scratch.get();
        float[] ap = a.data;
        // B read in place by the store kernels where every panel is one they take; otherwise packed as usual
        MatrixB inPlace = sharedB == null && readsBInPlace(b, alpha, beta, c, act) && wholePanels(a.m, p0, p1)
                ? (MatrixB) b : null;
        // Equal depth blocks (1152 = 2×576, not 640+512): the tile write-back is paid once per block.
        int kBlocks = (k + kcMax - 1) / kcMax;
        int kcEven = (k + kBlocks - 1) / kBlocks;
        for (int pc = 0; pc < k; pc += kcEven) {
            int kc = Math.min(kcEven, k - pc);
            boolean last = pc + kc == k;
            float betaHere = pc == 0 ? beta : 1f;
            Activation actHere = last ? act : Activation.NONE;
            float[] biasHere = last ? bias : null;
            for (int jc = n0; jc < n1; jc += ncMax) {
                int nc = Math.min(ncMax, n1 - jc);
                float[] bp;
                int bStart, bPanel;
                if (sharedB != null) {
                    bp = sharedB;
                    bStart = jc / NR * NR * k + pc * NR;
                    bPanel = NR * k;
                } else if (inPlace != null) {
                    // only a partial last column tile is packed (once), as the tile at offset 0
                    int whole = nc / NR * NR;
                    if (whole < nc) {
                        b.pack(pc, kc, jc + whole, nc - whole, s.b, 0);
                    }
                    bp = s.b;
                    bPanel = NR * kc;
                    bStart = -(whole / NR) * bPanel;
                } else {
                    b.pack(pc, kc, jc, nc, s.b, 0);
                    bp = s.b;
                    bStart = 0;
                    bPanel = NR * kc;
                }
                // A micro-panel outer, B micro-panels inner: the A panel (the broadcast operand, MR·kc floats)
                // stays in L1 while the wide B panels stream from the L2-resident B block, and each C row band is
                // written left to right (the BLIS order for a broadcast operand this size).
                // float output only: an 8-bit C (mc.q) is requantized by its own writer
                MatrixC plain = c instanceof MatrixC mc && mc.q == null && betaHere == 0f && alpha == 1f ? mc : null;
                MatrixC direct = plain != null && actHere.isClamp() && WIDE_REGISTER_FILE ? plain : null;
                Activation.Kind sig = actHere.kind();
                MatrixC sigmoidOut = plain != null && (sig == Activation.Kind.SILU || sig == Activation.Kind.SIGMOID)
                        ? plain : null;
                for (int panel = p0; panel < p1; panel++) {
                    int row = panelStart(a.m, panel);
                    int mr = panelRows(a.m, panel);
                    int stride = panelStride(mr);
                    boolean small = stride == MR_SMALL;
                    boolean mid = stride == MR_MID;
                    int ao = row * a.k + pc * stride;
                    for (int jr = 0; jr < nc; jr += NR) {
                        int bo = bStart + jr / NR * bPanel;
                        if (inPlace != null && jr + NR <= nc) {
                            MatrixC mc = (MatrixC) c;
                            long bAt = 4 * (inPlace.off + (long) pc * inPlace.ld + jc + jr);
                            long ldb = 4L * inPlace.ld;
                            long at = mc.off + (long) row * mc.ld + jc + jr;
                            float[] bs = biasHere == null ? ZERO_BIAS : biasHere;
                            int bOff = biasHere == null ? 0 : row;
                            float lo = actHere.clampLow(), hi = actHere.clampHigh();
                            MemorySegment bm = inPlace.seg, cm = mc.seg;
                            if (betaHere == 0f && mid) {
                                kernel8StoreB(kc, ap, ao, bm, bAt, ldb, cm, at, mc.ld, bs, bOff, lo, hi);
                            } else if (betaHere == 0f) {
                                kernel12StoreB(kc, ap, ao, bm, bAt, ldb, cm, at, mc.ld, bs, bOff, lo, hi);
                            } else {
                                // beta 1: A·B + bias into this thread's tile, then added onto C and clamped
                                MemorySegment t = s.nativeTile();
                                if (mid) {
                                    kernel8StoreB(kc, ap, ao, bm, bAt, ldb, t, 0, NR, bs, bOff, NO_LOW, NO_HIGH);
                                } else {
                                    kernel12StoreB(kc, ap, ao, bm, bAt, ldb, t, 0, NR, bs, bOff, NO_LOW, NO_HIGH);
                                }
                                addTile(t, cm, 4 * at, 4L * mc.ld, mr, lo, hi);
                            }
                            continue;
                        }
                        if (!small && direct != null && mr == MR && jr + NR <= nc) {
                            // A whole tile of a plain matrix with nothing to read back: the micro-kernel adds the
                            // bias, clamps and stores its accumulators itself (no tile round trip; with a short k,
                            // as in 1x1 convolutions over few channels, that round trip cost more than the products)
                            kernel12Store(kc, ap, ao, bp, bo, direct.seg, direct.off + (long) row * direct.ld + jc + jr,
                                    direct.ld, biasHere == null ? ZERO_BIAS : biasHere, biasHere == null ? 0 : row,
                                    actHere.clampLow(), actHere.clampHigh());
                            continue;
                        }
                        if (mid && direct != null && mr == MR_MID && jr + NR <= nc) {
                            kernel8Store(kc, ap, ao, bp, bo, direct.seg, direct.off + (long) row * direct.ld + jc + jr,
                                    direct.ld, biasHere == null ? ZERO_BIAS : biasHere, biasHere == null ? 0 : row,
                                    actHere.clampLow(), actHere.clampHigh());
                            continue;
                        }
                        int cols = Math.min(NR, nc - jr);
                        if (small) {
                            kernel6(kc, ap, ao, bp, bo, NR, s.tile, 0, NR);
                        } else if (mid) {
                            kernel8(kc, ap, ao, bp, bo, NR, s.tile, 0, NR);
                        } else if (NARROW_TILES && cols <= VL) {
                            kernel12x16(kc, ap, ao, bp, bo, NR, s.tile, 0, NR);
                        } else if (NARROW_TILES && cols == VL + 1 && ao + kc * 12 + VL - 12 <= ap.length) {
                            kernel12x17(kc, ap, ao, bp, bo, NR, s.tile, 0, NR);
                        } else {
                            kernel12(kc, ap, ao, bp, bo, NR, s.tile, 0, NR);
                        }
                        if (sigmoidOut != null && jr + NR <= nc) {
                            storeSigmoidTile(s.tile, mr, sigmoidOut.seg,
                                    sigmoidOut.off + (long) row * sigmoidOut.ld + jc + jr, sigmoidOut.ld,
                                    biasHere == null ? ZERO_BIAS : biasHere, biasHere == null ? 0 : row,
                                    sig == Activation.Kind.SILU);
                            continue;
                        }
                        c.write(s.tile, row, mr, jc + jr, Math.min(NR, nc - jr), alpha, betaHere, biasHere,
                                actHere);
                    }
                }
            }
        }
    }

    /**
     * The 6-row micro-kernel: the full 6×NR product of one A panel (row stride 6) and one B panel into
     * {@code tile} (row-major, NR floats a row). Kept small on purpose: with the epilogue inlined here C2 ran out of inlining budget
     * and boxed the accumulators (7 instead of 100+ GFLOP/s).
     */
    private static void kernel6(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] tile, int to,
                                 int ldt) {
        FloatVector zero = FloatVector.zero(S); // one zero: each Vector API call site costs C2 memory
        FloatVector c00 = zero, c01 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero;
        FloatVector c50 = zero, c51 = zero;
        // Indices are affine in k so that C2 hoists the array range checks out of the loop.
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * MR_SMALL;
            int bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c10.intoArray(tile, to + ldt);
        c11.intoArray(tile, to + ldt + VL);
        c20.intoArray(tile, to + 2 * ldt);
        c21.intoArray(tile, to + 2 * ldt + VL);
        c30.intoArray(tile, to + 3 * ldt);
        c31.intoArray(tile, to + 3 * ldt + VL);
        c40.intoArray(tile, to + 4 * ldt);
        c41.intoArray(tile, to + 4 * ldt + VL);
        c50.intoArray(tile, to + 5 * ldt);
        c51.intoArray(tile, to + 5 * ldt + VL);
    }

    /** The 8-row micro-kernel (A panel row stride 8): 16 accumulators; see {@link #kernel6}. */
    private static void kernel8(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] tile, int to,
                                 int ldt) {
        FloatVector zero = FloatVector.zero(S); // one zero: each Vector API call site costs C2 memory
        FloatVector c00 = zero, c01 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero;
        FloatVector c50 = zero, c51 = zero;
        FloatVector c60 = zero, c61 = zero;
        FloatVector c70 = zero, c71 = zero;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * MR_MID;
            int bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c10.intoArray(tile, to + ldt);
        c11.intoArray(tile, to + ldt + VL);
        c20.intoArray(tile, to + 2 * ldt);
        c21.intoArray(tile, to + 2 * ldt + VL);
        c30.intoArray(tile, to + 3 * ldt);
        c31.intoArray(tile, to + 3 * ldt + VL);
        c40.intoArray(tile, to + 4 * ldt);
        c41.intoArray(tile, to + 4 * ldt + VL);
        c50.intoArray(tile, to + 5 * ldt);
        c51.intoArray(tile, to + 5 * ldt + VL);
        c60.intoArray(tile, to + 6 * ldt);
        c61.intoArray(tile, to + 6 * ldt + VL);
        c70.intoArray(tile, to + 7 * ldt);
        c71.intoArray(tile, to + 7 * ldt + VL);
    }

    /** The 12-row micro-kernel (A panel row stride 12): 24 accumulators; see {@link #kernel6}. */
    private static void kernel12(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] tile, int to,
                                 int ldt) {
        FloatVector zero = FloatVector.zero(S); // one zero: each Vector API call site costs C2 memory
        FloatVector c00 = zero, c01 = zero;
        FloatVector c02 = zero, c03 = zero;
        FloatVector c04 = zero, c05 = zero;
        FloatVector c06 = zero, c07 = zero;
        FloatVector c08 = zero, c09 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c12 = zero, c13 = zero;
        FloatVector c14 = zero, c15 = zero;
        FloatVector c16 = zero, c17 = zero;
        FloatVector c18 = zero, c19 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c22 = zero, c23 = zero;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * 12;
            int bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c02 = av.fma(b0, c02);
            c03 = av.fma(b1, c03);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c04 = av.fma(b0, c04);
            c05 = av.fma(b1, c05);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c06 = av.fma(b0, c06);
            c07 = av.fma(b1, c07);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c08 = av.fma(b0, c08);
            c09 = av.fma(b1, c09);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c12 = av.fma(b0, c12);
            c13 = av.fma(b1, c13);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c14 = av.fma(b0, c14);
            c15 = av.fma(b1, c15);
            av = FloatVector.broadcast(S, a[ai + 8]);
            c16 = av.fma(b0, c16);
            c17 = av.fma(b1, c17);
            av = FloatVector.broadcast(S, a[ai + 9]);
            c18 = av.fma(b0, c18);
            c19 = av.fma(b1, c19);
            av = FloatVector.broadcast(S, a[ai + 10]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 11]);
            c22 = av.fma(b0, c22);
            c23 = av.fma(b1, c23);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + VL);
        c02.intoArray(tile, to + ldt);
        c03.intoArray(tile, to + ldt + VL);
        c04.intoArray(tile, to + 2 * ldt);
        c05.intoArray(tile, to + 2 * ldt + VL);
        c06.intoArray(tile, to + 3 * ldt);
        c07.intoArray(tile, to + 3 * ldt + VL);
        c08.intoArray(tile, to + 4 * ldt);
        c09.intoArray(tile, to + 4 * ldt + VL);
        c10.intoArray(tile, to + 5 * ldt);
        c11.intoArray(tile, to + 5 * ldt + VL);
        c12.intoArray(tile, to + 6 * ldt);
        c13.intoArray(tile, to + 6 * ldt + VL);
        c14.intoArray(tile, to + 7 * ldt);
        c15.intoArray(tile, to + 7 * ldt + VL);
        c16.intoArray(tile, to + 8 * ldt);
        c17.intoArray(tile, to + 8 * ldt + VL);
        c18.intoArray(tile, to + 9 * ldt);
        c19.intoArray(tile, to + 9 * ldt + VL);
        c20.intoArray(tile, to + 10 * ldt);
        c21.intoArray(tile, to + 10 * ldt + VL);
        c22.intoArray(tile, to + 11 * ldt);
        c23.intoArray(tile, to + 11 * ldt + VL);
    }

    /**
     * The 12-row micro-kernel for a last column tile at most one vector wide: the tile's first {@link #VL} columns
     * only (12 accumulators), half the multiply-adds of {@link #kernel12}. Why: a 14×14 convolution output has 196
     * columns, 6 whole tiles and 4 columns that cost a whole 32-column tile.
     */
    private static void kernel12x16(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] tile, int to,
                                    int ldt) {
        FloatVector zero = FloatVector.zero(S);
        FloatVector c00 = zero;
        FloatVector c01 = zero;
        FloatVector c02 = zero;
        FloatVector c03 = zero;
        FloatVector c04 = zero;
        FloatVector c05 = zero;
        FloatVector c06 = zero;
        FloatVector c07 = zero;
        FloatVector c08 = zero;
        FloatVector c09 = zero;
        FloatVector c10 = zero;
        FloatVector c11 = zero;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * 12;
            FloatVector b0 = FloatVector.fromArray(S, b, bo + k * ldb);
            c00 = FloatVector.broadcast(S, a[ai]).fma(b0, c00);
            c01 = FloatVector.broadcast(S, a[ai + 1]).fma(b0, c01);
            c02 = FloatVector.broadcast(S, a[ai + 2]).fma(b0, c02);
            c03 = FloatVector.broadcast(S, a[ai + 3]).fma(b0, c03);
            c04 = FloatVector.broadcast(S, a[ai + 4]).fma(b0, c04);
            c05 = FloatVector.broadcast(S, a[ai + 5]).fma(b0, c05);
            c06 = FloatVector.broadcast(S, a[ai + 6]).fma(b0, c06);
            c07 = FloatVector.broadcast(S, a[ai + 7]).fma(b0, c07);
            c08 = FloatVector.broadcast(S, a[ai + 8]).fma(b0, c08);
            c09 = FloatVector.broadcast(S, a[ai + 9]).fma(b0, c09);
            c10 = FloatVector.broadcast(S, a[ai + 10]).fma(b0, c10);
            c11 = FloatVector.broadcast(S, a[ai + 11]).fma(b0, c11);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + ldt);
        c02.intoArray(tile, to + 2 * ldt);
        c03.intoArray(tile, to + 3 * ldt);
        c04.intoArray(tile, to + 4 * ldt);
        c05.intoArray(tile, to + 5 * ldt);
        c06.intoArray(tile, to + 6 * ldt);
        c07.intoArray(tile, to + 7 * ldt);
        c08.intoArray(tile, to + 8 * ldt);
        c09.intoArray(tile, to + 9 * ldt);
        c10.intoArray(tile, to + 10 * ldt);
        c11.intoArray(tile, to + 11 * ldt);
    }

    /**
     * {@link #kernel12x16} and one more column (the tile's column {@link #VL}): its 12 values accumulate in one
     * vector, the A panel's 12 values of each k (a vector load, {@code a} must hold {@link #VL} − 12 floats past the
     * panel) times that column's B value. Why: a 7×7 convolution output has 49 columns, a whole tile and 17 columns,
     * which {@link #kernel12} computed as 32: 64 columns of work for 49.
     */
    private static void kernel12x17(int kc, float[] a, int ao, float[] b, int bo, int ldb, float[] tile, int to,
                                    int ldt) {
        FloatVector zero = FloatVector.zero(S);
        FloatVector c00 = zero;
        FloatVector c01 = zero;
        FloatVector c02 = zero;
        FloatVector c03 = zero;
        FloatVector c04 = zero;
        FloatVector c05 = zero;
        FloatVector c06 = zero;
        FloatVector c07 = zero;
        FloatVector c08 = zero;
        FloatVector c09 = zero;
        FloatVector c10 = zero;
        FloatVector c11 = zero;
        FloatVector col = zero;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * 12;
            int bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            col = FloatVector.fromArray(S, a, ai).fma(FloatVector.broadcast(S, b[bi + VL]), col);
            c00 = FloatVector.broadcast(S, a[ai]).fma(b0, c00);
            c01 = FloatVector.broadcast(S, a[ai + 1]).fma(b0, c01);
            c02 = FloatVector.broadcast(S, a[ai + 2]).fma(b0, c02);
            c03 = FloatVector.broadcast(S, a[ai + 3]).fma(b0, c03);
            c04 = FloatVector.broadcast(S, a[ai + 4]).fma(b0, c04);
            c05 = FloatVector.broadcast(S, a[ai + 5]).fma(b0, c05);
            c06 = FloatVector.broadcast(S, a[ai + 6]).fma(b0, c06);
            c07 = FloatVector.broadcast(S, a[ai + 7]).fma(b0, c07);
            c08 = FloatVector.broadcast(S, a[ai + 8]).fma(b0, c08);
            c09 = FloatVector.broadcast(S, a[ai + 9]).fma(b0, c09);
            c10 = FloatVector.broadcast(S, a[ai + 10]).fma(b0, c10);
            c11 = FloatVector.broadcast(S, a[ai + 11]).fma(b0, c11);
        }
        c00.intoArray(tile, to);
        c01.intoArray(tile, to + ldt);
        c02.intoArray(tile, to + 2 * ldt);
        c03.intoArray(tile, to + 3 * ldt);
        c04.intoArray(tile, to + 4 * ldt);
        c05.intoArray(tile, to + 5 * ldt);
        c06.intoArray(tile, to + 6 * ldt);
        c07.intoArray(tile, to + 7 * ldt);
        c08.intoArray(tile, to + 8 * ldt);
        c09.intoArray(tile, to + 9 * ldt);
        c10.intoArray(tile, to + 10 * ldt);
        c11.intoArray(tile, to + 11 * ldt);
        // the column's vector lands after the tile's 12 rows (the spare vector of Scratch.tile), then goes to
        // column VL of each row
        int spare = to + 12 * ldt;
        col.intoArray(tile, spare);
        for (int r = 0; r < 12; r++) {
            tile[to + r * ldt + VL] = tile[spare + r];
        }
    }

    private static final float[] ZERO_BIAS = new float[MR];

    /**
     * {@link #kernel8Store} with B read in place: row k of the tile's two B vectors at byte {@code bo + k·ldb} of a
     * native segment (a plain row-major matrix, no packing).
     */
    private static void kernel8StoreB(int kc, float[] a, int ao, MemorySegment b, long bo, long ldb,
                                      MemorySegment c, long cOff, long ldc, float[] bias, int biasOff,
                                      float lo, float hi) {
        int q = biasOff;
        FloatVector b00 = FloatVector.broadcast(S, bias[q]);
        FloatVector c00 = b00, c01 = b00;
        FloatVector b01 = FloatVector.broadcast(S, bias[q + 1]);
        FloatVector c02 = b01, c03 = b01;
        FloatVector b02 = FloatVector.broadcast(S, bias[q + 2]);
        FloatVector c04 = b02, c05 = b02;
        FloatVector b03 = FloatVector.broadcast(S, bias[q + 3]);
        FloatVector c06 = b03, c07 = b03;
        FloatVector b04 = FloatVector.broadcast(S, bias[q + 4]);
        FloatVector c08 = b04, c09 = b04;
        FloatVector b05 = FloatVector.broadcast(S, bias[q + 5]);
        FloatVector c10 = b05, c11 = b05;
        FloatVector b06 = FloatVector.broadcast(S, bias[q + 6]);
        FloatVector c12 = b06, c13 = b06;
        FloatVector b07 = FloatVector.broadcast(S, bias[q + 7]);
        FloatVector c14 = b07, c15 = b07;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * MR_MID;
            long bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + 4L * VL, LE);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c02 = av.fma(b0, c02);
            c03 = av.fma(b1, c03);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c04 = av.fma(b0, c04);
            c05 = av.fma(b1, c05);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c06 = av.fma(b0, c06);
            c07 = av.fma(b1, c07);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c08 = av.fma(b0, c08);
            c09 = av.fma(b1, c09);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c12 = av.fma(b0, c12);
            c13 = av.fma(b1, c13);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c14 = av.fma(b0, c14);
            c15 = av.fma(b1, c15);
        }
        long o = cOff * 4, ld = ldc * 4, v = 4L * VL;
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        c00 = c00.blend(vlo, c00.compare(VectorOperators.LT, vlo));
        c00.blend(vhi, c00.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o, LE);
        c01 = c01.blend(vlo, c01.compare(VectorOperators.LT, vlo));
        c01.blend(vhi, c01.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + v, LE);
        c02 = c02.blend(vlo, c02.compare(VectorOperators.LT, vlo));
        c02.blend(vhi, c02.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld, LE);
        c03 = c03.blend(vlo, c03.compare(VectorOperators.LT, vlo));
        c03.blend(vhi, c03.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld + v, LE);
        c04 = c04.blend(vlo, c04.compare(VectorOperators.LT, vlo));
        c04.blend(vhi, c04.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld, LE);
        c05 = c05.blend(vlo, c05.compare(VectorOperators.LT, vlo));
        c05.blend(vhi, c05.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld + v, LE);
        c06 = c06.blend(vlo, c06.compare(VectorOperators.LT, vlo));
        c06.blend(vhi, c06.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld, LE);
        c07 = c07.blend(vlo, c07.compare(VectorOperators.LT, vlo));
        c07.blend(vhi, c07.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld + v, LE);
        c08 = c08.blend(vlo, c08.compare(VectorOperators.LT, vlo));
        c08.blend(vhi, c08.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld, LE);
        c09 = c09.blend(vlo, c09.compare(VectorOperators.LT, vlo));
        c09.blend(vhi, c09.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld + v, LE);
        c10 = c10.blend(vlo, c10.compare(VectorOperators.LT, vlo));
        c10.blend(vhi, c10.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld, LE);
        c11 = c11.blend(vlo, c11.compare(VectorOperators.LT, vlo));
        c11.blend(vhi, c11.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld + v, LE);
        c12 = c12.blend(vlo, c12.compare(VectorOperators.LT, vlo));
        c12.blend(vhi, c12.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld, LE);
        c13 = c13.blend(vlo, c13.compare(VectorOperators.LT, vlo));
        c13.blend(vhi, c13.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld + v, LE);
        c14 = c14.blend(vlo, c14.compare(VectorOperators.LT, vlo));
        c14.blend(vhi, c14.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld, LE);
        c15 = c15.blend(vlo, c15.compare(VectorOperators.LT, vlo));
        c15.blend(vhi, c15.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld + v, LE);
    }

    /**
     * {@link #kernel12Store} with B read in place: row k of the tile's two B vectors at byte {@code bo + k·ldb} of a
     * native segment (a plain row-major matrix, no packing). A method of its own, not {@code kernel12Store} reading
     * packed B through a heap segment: one load site that sees both heap and native segments ran the 12×32 tile 17%
     * slower (94 against 113 GFLOP/s, docs/benchmarks.md), so these kernels take native memory only.
     */
    private static void kernel12StoreB(int kc, float[] a, int ao, MemorySegment b, long bo, long ldb,
                                       MemorySegment c, long cOff, long ldc, float[] bias, int biasOff,
                                       float lo, float hi) {
        int q = biasOff;
        FloatVector b00 = FloatVector.broadcast(S, bias[q]);
        FloatVector c00 = b00, c01 = b00;
        FloatVector b01 = FloatVector.broadcast(S, bias[q + 1]);
        FloatVector c02 = b01, c03 = b01;
        FloatVector b02 = FloatVector.broadcast(S, bias[q + 2]);
        FloatVector c04 = b02, c05 = b02;
        FloatVector b03 = FloatVector.broadcast(S, bias[q + 3]);
        FloatVector c06 = b03, c07 = b03;
        FloatVector b04 = FloatVector.broadcast(S, bias[q + 4]);
        FloatVector c08 = b04, c09 = b04;
        FloatVector b05 = FloatVector.broadcast(S, bias[q + 5]);
        FloatVector c10 = b05, c11 = b05;
        FloatVector b06 = FloatVector.broadcast(S, bias[q + 6]);
        FloatVector c12 = b06, c13 = b06;
        FloatVector b07 = FloatVector.broadcast(S, bias[q + 7]);
        FloatVector c14 = b07, c15 = b07;
        FloatVector b08 = FloatVector.broadcast(S, bias[q + 8]);
        FloatVector c16 = b08, c17 = b08;
        FloatVector b09 = FloatVector.broadcast(S, bias[q + 9]);
        FloatVector c18 = b09, c19 = b09;
        FloatVector b10 = FloatVector.broadcast(S, bias[q + 10]);
        FloatVector c20 = b10, c21 = b10;
        FloatVector b11 = FloatVector.broadcast(S, bias[q + 11]);
        FloatVector c22 = b11, c23 = b11;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * 12;
            long bi = bo + k * ldb;
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, LE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + 4L * VL, LE);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c02 = av.fma(b0, c02);
            c03 = av.fma(b1, c03);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c04 = av.fma(b0, c04);
            c05 = av.fma(b1, c05);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c06 = av.fma(b0, c06);
            c07 = av.fma(b1, c07);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c08 = av.fma(b0, c08);
            c09 = av.fma(b1, c09);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c12 = av.fma(b0, c12);
            c13 = av.fma(b1, c13);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c14 = av.fma(b0, c14);
            c15 = av.fma(b1, c15);
            av = FloatVector.broadcast(S, a[ai + 8]);
            c16 = av.fma(b0, c16);
            c17 = av.fma(b1, c17);
            av = FloatVector.broadcast(S, a[ai + 9]);
            c18 = av.fma(b0, c18);
            c19 = av.fma(b1, c19);
            av = FloatVector.broadcast(S, a[ai + 10]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 11]);
            c22 = av.fma(b0, c22);
            c23 = av.fma(b1, c23);
        }
        long o = cOff * 4, ld = ldc * 4, v = 4L * VL;
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        c00 = c00.blend(vlo, c00.compare(VectorOperators.LT, vlo));
        c00.blend(vhi, c00.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o, LE);
        c01 = c01.blend(vlo, c01.compare(VectorOperators.LT, vlo));
        c01.blend(vhi, c01.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + v, LE);
        c02 = c02.blend(vlo, c02.compare(VectorOperators.LT, vlo));
        c02.blend(vhi, c02.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld, LE);
        c03 = c03.blend(vlo, c03.compare(VectorOperators.LT, vlo));
        c03.blend(vhi, c03.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld + v, LE);
        c04 = c04.blend(vlo, c04.compare(VectorOperators.LT, vlo));
        c04.blend(vhi, c04.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld, LE);
        c05 = c05.blend(vlo, c05.compare(VectorOperators.LT, vlo));
        c05.blend(vhi, c05.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld + v, LE);
        c06 = c06.blend(vlo, c06.compare(VectorOperators.LT, vlo));
        c06.blend(vhi, c06.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld, LE);
        c07 = c07.blend(vlo, c07.compare(VectorOperators.LT, vlo));
        c07.blend(vhi, c07.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld + v, LE);
        c08 = c08.blend(vlo, c08.compare(VectorOperators.LT, vlo));
        c08.blend(vhi, c08.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld, LE);
        c09 = c09.blend(vlo, c09.compare(VectorOperators.LT, vlo));
        c09.blend(vhi, c09.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld + v, LE);
        c10 = c10.blend(vlo, c10.compare(VectorOperators.LT, vlo));
        c10.blend(vhi, c10.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld, LE);
        c11 = c11.blend(vlo, c11.compare(VectorOperators.LT, vlo));
        c11.blend(vhi, c11.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld + v, LE);
        c12 = c12.blend(vlo, c12.compare(VectorOperators.LT, vlo));
        c12.blend(vhi, c12.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld, LE);
        c13 = c13.blend(vlo, c13.compare(VectorOperators.LT, vlo));
        c13.blend(vhi, c13.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld + v, LE);
        c14 = c14.blend(vlo, c14.compare(VectorOperators.LT, vlo));
        c14.blend(vhi, c14.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld, LE);
        c15 = c15.blend(vlo, c15.compare(VectorOperators.LT, vlo));
        c15.blend(vhi, c15.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld + v, LE);
        c16 = c16.blend(vlo, c16.compare(VectorOperators.LT, vlo));
        c16.blend(vhi, c16.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 8 * ld, LE);
        c17 = c17.blend(vlo, c17.compare(VectorOperators.LT, vlo));
        c17.blend(vhi, c17.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 8 * ld + v, LE);
        c18 = c18.blend(vlo, c18.compare(VectorOperators.LT, vlo));
        c18.blend(vhi, c18.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 9 * ld, LE);
        c19 = c19.blend(vlo, c19.compare(VectorOperators.LT, vlo));
        c19.blend(vhi, c19.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 9 * ld + v, LE);
        c20 = c20.blend(vlo, c20.compare(VectorOperators.LT, vlo));
        c20.blend(vhi, c20.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 10 * ld, LE);
        c21 = c21.blend(vlo, c21.compare(VectorOperators.LT, vlo));
        c21.blend(vhi, c21.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 10 * ld + v, LE);
        c22 = c22.blend(vlo, c22.compare(VectorOperators.LT, vlo));
        c22.blend(vhi, c22.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 11 * ld, LE);
        c23 = c23.blend(vlo, c23.compare(VectorOperators.LT, vlo));
        c23.blend(vhi, c23.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 11 * ld + v, LE);
    }

    /** {@link #kernel12Store} for an 8-row panel (row stride 8). */
    private static void kernel8Store(int kc, float[] a, int ao, float[] b, int bo, MemorySegment c, long cOff,
                                     long ldc, float[] bias, int biasOff, float lo, float hi) {
        // accumulators start at the bias, as in kernel12Store
        int q = biasOff;
        FloatVector b00 = FloatVector.broadcast(S, bias[q]);
        FloatVector c00 = b00, c01 = b00;
        FloatVector b01 = FloatVector.broadcast(S, bias[q + 1]);
        FloatVector c02 = b01, c03 = b01;
        FloatVector b02 = FloatVector.broadcast(S, bias[q + 2]);
        FloatVector c04 = b02, c05 = b02;
        FloatVector b03 = FloatVector.broadcast(S, bias[q + 3]);
        FloatVector c06 = b03, c07 = b03;
        FloatVector b04 = FloatVector.broadcast(S, bias[q + 4]);
        FloatVector c08 = b04, c09 = b04;
        FloatVector b05 = FloatVector.broadcast(S, bias[q + 5]);
        FloatVector c10 = b05, c11 = b05;
        FloatVector b06 = FloatVector.broadcast(S, bias[q + 6]);
        FloatVector c12 = b06, c13 = b06;
        FloatVector b07 = FloatVector.broadcast(S, bias[q + 7]);
        FloatVector c14 = b07, c15 = b07;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * MR_MID;
            int bi = bo + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c02 = av.fma(b0, c02);
            c03 = av.fma(b1, c03);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c04 = av.fma(b0, c04);
            c05 = av.fma(b1, c05);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c06 = av.fma(b0, c06);
            c07 = av.fma(b1, c07);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c08 = av.fma(b0, c08);
            c09 = av.fma(b1, c09);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c12 = av.fma(b0, c12);
            c13 = av.fma(b1, c13);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c14 = av.fma(b0, c14);
            c15 = av.fma(b1, c15);
        }
        long o = cOff * 4, ld = ldc * 4, v = 4L * VL;
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        c00 = c00.blend(vlo, c00.compare(VectorOperators.LT, vlo));
        c00.blend(vhi, c00.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o, LE);
        c01 = c01.blend(vlo, c01.compare(VectorOperators.LT, vlo));
        c01.blend(vhi, c01.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + v, LE);
        c02 = c02.blend(vlo, c02.compare(VectorOperators.LT, vlo));
        c02.blend(vhi, c02.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld, LE);
        c03 = c03.blend(vlo, c03.compare(VectorOperators.LT, vlo));
        c03.blend(vhi, c03.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld + v, LE);
        c04 = c04.blend(vlo, c04.compare(VectorOperators.LT, vlo));
        c04.blend(vhi, c04.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld, LE);
        c05 = c05.blend(vlo, c05.compare(VectorOperators.LT, vlo));
        c05.blend(vhi, c05.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld + v, LE);
        c06 = c06.blend(vlo, c06.compare(VectorOperators.LT, vlo));
        c06.blend(vhi, c06.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld, LE);
        c07 = c07.blend(vlo, c07.compare(VectorOperators.LT, vlo));
        c07.blend(vhi, c07.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld + v, LE);
        c08 = c08.blend(vlo, c08.compare(VectorOperators.LT, vlo));
        c08.blend(vhi, c08.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld, LE);
        c09 = c09.blend(vlo, c09.compare(VectorOperators.LT, vlo));
        c09.blend(vhi, c09.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld + v, LE);
        c10 = c10.blend(vlo, c10.compare(VectorOperators.LT, vlo));
        c10.blend(vhi, c10.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld, LE);
        c11 = c11.blend(vlo, c11.compare(VectorOperators.LT, vlo));
        c11.blend(vhi, c11.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld + v, LE);
        c12 = c12.blend(vlo, c12.compare(VectorOperators.LT, vlo));
        c12.blend(vhi, c12.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld, LE);
        c13 = c13.blend(vlo, c13.compare(VectorOperators.LT, vlo));
        c13.blend(vhi, c13.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld + v, LE);
        c14 = c14.blend(vlo, c14.compare(VectorOperators.LT, vlo));
        c14.blend(vhi, c14.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld, LE);
        c15 = c15.blend(vlo, c15.compare(VectorOperators.LT, vlo));
        c15.blend(vhi, c15.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld + v, LE);
    }

    /**
     * {@link #kernel12} with the epilogue of a whole tile in registers: row r of the product plus
     * {@code bias[biasOff + r]}, clamped to [lo, hi], stored to C at {@code cOff + r·ldc} (elements). For beta 0,
     * alpha 1 and clamp activations only. All vectors stay in this method (see {@link Activation#applyInPlace}).
     */
    private static void kernel12Store(int kc, float[] a, int ao, float[] b, int bo, MemorySegment c, long cOff,
                                      long ldc, float[] bias, int biasOff, float lo, float hi) {
        // accumulators start at the bias (one broadcast a row, no add in the epilogue): each Vector API call
        // site costs C2 compile memory, and with 24 more adds this method's compile took 51 MB instead of 41
        // (-XX:CompileCommand=MemStat; docs/benchmarks.md)
        int q = biasOff;
        FloatVector b00 = FloatVector.broadcast(S, bias[q]);
        FloatVector c00 = b00, c01 = b00;
        FloatVector b01 = FloatVector.broadcast(S, bias[q + 1]);
        FloatVector c02 = b01, c03 = b01;
        FloatVector b02 = FloatVector.broadcast(S, bias[q + 2]);
        FloatVector c04 = b02, c05 = b02;
        FloatVector b03 = FloatVector.broadcast(S, bias[q + 3]);
        FloatVector c06 = b03, c07 = b03;
        FloatVector b04 = FloatVector.broadcast(S, bias[q + 4]);
        FloatVector c08 = b04, c09 = b04;
        FloatVector b05 = FloatVector.broadcast(S, bias[q + 5]);
        FloatVector c10 = b05, c11 = b05;
        FloatVector b06 = FloatVector.broadcast(S, bias[q + 6]);
        FloatVector c12 = b06, c13 = b06;
        FloatVector b07 = FloatVector.broadcast(S, bias[q + 7]);
        FloatVector c14 = b07, c15 = b07;
        FloatVector b08 = FloatVector.broadcast(S, bias[q + 8]);
        FloatVector c16 = b08, c17 = b08;
        FloatVector b09 = FloatVector.broadcast(S, bias[q + 9]);
        FloatVector c18 = b09, c19 = b09;
        FloatVector b10 = FloatVector.broadcast(S, bias[q + 10]);
        FloatVector c20 = b10, c21 = b10;
        FloatVector b11 = FloatVector.broadcast(S, bias[q + 11]);
        FloatVector c22 = b11, c23 = b11;
        for (int k = 0; k < kc; k++) {
            int ai = ao + k * 12;
            int bi = bo + k * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c02 = av.fma(b0, c02);
            c03 = av.fma(b1, c03);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c04 = av.fma(b0, c04);
            c05 = av.fma(b1, c05);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c06 = av.fma(b0, c06);
            c07 = av.fma(b1, c07);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c08 = av.fma(b0, c08);
            c09 = av.fma(b1, c09);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c12 = av.fma(b0, c12);
            c13 = av.fma(b1, c13);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c14 = av.fma(b0, c14);
            c15 = av.fma(b1, c15);
            av = FloatVector.broadcast(S, a[ai + 8]);
            c16 = av.fma(b0, c16);
            c17 = av.fma(b1, c17);
            av = FloatVector.broadcast(S, a[ai + 9]);
            c18 = av.fma(b0, c18);
            c19 = av.fma(b1, c19);
            av = FloatVector.broadcast(S, a[ai + 10]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 11]);
            c22 = av.fma(b0, c22);
            c23 = av.fma(b1, c23);
        }
        long o = cOff * 4, ld = ldc * 4, v = 4L * VL;
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        c00 = c00.blend(vlo, c00.compare(VectorOperators.LT, vlo));
        c00.blend(vhi, c00.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o, LE);
        c01 = c01.blend(vlo, c01.compare(VectorOperators.LT, vlo));
        c01.blend(vhi, c01.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + v, LE);
        c02 = c02.blend(vlo, c02.compare(VectorOperators.LT, vlo));
        c02.blend(vhi, c02.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld, LE);
        c03 = c03.blend(vlo, c03.compare(VectorOperators.LT, vlo));
        c03.blend(vhi, c03.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + ld + v, LE);
        c04 = c04.blend(vlo, c04.compare(VectorOperators.LT, vlo));
        c04.blend(vhi, c04.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld, LE);
        c05 = c05.blend(vlo, c05.compare(VectorOperators.LT, vlo));
        c05.blend(vhi, c05.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 2 * ld + v, LE);
        c06 = c06.blend(vlo, c06.compare(VectorOperators.LT, vlo));
        c06.blend(vhi, c06.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld, LE);
        c07 = c07.blend(vlo, c07.compare(VectorOperators.LT, vlo));
        c07.blend(vhi, c07.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 3 * ld + v, LE);
        c08 = c08.blend(vlo, c08.compare(VectorOperators.LT, vlo));
        c08.blend(vhi, c08.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld, LE);
        c09 = c09.blend(vlo, c09.compare(VectorOperators.LT, vlo));
        c09.blend(vhi, c09.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 4 * ld + v, LE);
        c10 = c10.blend(vlo, c10.compare(VectorOperators.LT, vlo));
        c10.blend(vhi, c10.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld, LE);
        c11 = c11.blend(vlo, c11.compare(VectorOperators.LT, vlo));
        c11.blend(vhi, c11.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 5 * ld + v, LE);
        c12 = c12.blend(vlo, c12.compare(VectorOperators.LT, vlo));
        c12.blend(vhi, c12.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld, LE);
        c13 = c13.blend(vlo, c13.compare(VectorOperators.LT, vlo));
        c13.blend(vhi, c13.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 6 * ld + v, LE);
        c14 = c14.blend(vlo, c14.compare(VectorOperators.LT, vlo));
        c14.blend(vhi, c14.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld, LE);
        c15 = c15.blend(vlo, c15.compare(VectorOperators.LT, vlo));
        c15.blend(vhi, c15.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 7 * ld + v, LE);
        c16 = c16.blend(vlo, c16.compare(VectorOperators.LT, vlo));
        c16.blend(vhi, c16.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 8 * ld, LE);
        c17 = c17.blend(vlo, c17.compare(VectorOperators.LT, vlo));
        c17.blend(vhi, c17.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 8 * ld + v, LE);
        c18 = c18.blend(vlo, c18.compare(VectorOperators.LT, vlo));
        c18.blend(vhi, c18.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 9 * ld, LE);
        c19 = c19.blend(vlo, c19.compare(VectorOperators.LT, vlo));
        c19.blend(vhi, c19.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 9 * ld + v, LE);
        c20 = c20.blend(vlo, c20.compare(VectorOperators.LT, vlo));
        c20.blend(vhi, c20.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 10 * ld, LE);
        c21 = c21.blend(vlo, c21.compare(VectorOperators.LT, vlo));
        c21.blend(vhi, c21.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 10 * ld + v, LE);
        c22 = c22.blend(vlo, c22.compare(VectorOperators.LT, vlo));
        c22.blend(vhi, c22.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 11 * ld, LE);
        c23 = c23.blend(vlo, c23.compare(VectorOperators.LT, vlo));
        c23.blend(vhi, c23.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, o + 11 * ld + v, LE);
    }

    /**
     * C's tile += {@code tile} (rows of {@link #NR} floats, contiguous), clamped to [lo, hi]: the beta-1 half of the
     * in-place-B path, {@code rows} rows of C from byte {@code o}, row stride {@code ld} bytes. Why not a beta-1
     * micro-kernel that starts its accumulators from C: with C's 24 loads in it, C1 (the JIT's first tier) could not
     * compile that kernel ("out of virtual registers"), and a kernel C1 refuses after C1's quick first tier has
     * compiled it can stay in that tier for good, every vector boxed: 70 times slower for the rest of the process
     * (2 of 3 runs of a benchmark of this GEMM alone). The extra pass costs a tile's loads and stores in L1.
     */
    private static void addTile(MemorySegment tile, MemorySegment c, long o, long ld, int rows, float lo, float hi) {
        FloatVector vlo = FloatVector.broadcast(S, lo), vhi = FloatVector.broadcast(S, hi);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < NR; j += VL) {
                long at = o + r * ld + 4L * j;
                FloatVector x = FloatVector.fromMemorySegment(S, tile, 4L * (r * NR + j), LE)
                        .add(FloatVector.fromMemorySegment(S, c, at, LE));
                x = x.blend(vlo, x.compare(VectorOperators.LT, vlo));
                x.blend(vhi, x.compare(VectorOperators.GT, vhi)).intoMemorySegment(c, at, LE);
            }
        }
    }

    /**
     * The epilogue of a whole-width tile for sigmoid and SiLU, in one pass: row r of the tile plus
     * {@code bias[biasOff + r]}, then {@code σ(v)} or {@code v·σ(v)}, stored to C at {@code cOff + r·ldc}. The
     * general epilogue makes three passes and a call per row; with SiLU after a 1×1 convolution over few channels
     * that cost 2.4 times the sigmoid itself (docs/benchmarks.md).
     */
    private static void storeSigmoidTile(float[] tile, int mr, MemorySegment c, long cOff, long ldc, float[] bias,
                                         int biasOff, boolean timesX) {
        for (int r = 0; r < mr; r++) {
            float bv = bias[biasOff + r];
            long o = (cOff + r * ldc) * 4;
            for (int j = 0; j < NR; j += VL) {
                FloatVector v = FloatVector.fromArray(S, tile, r * NR + j).add(bv);
                FloatVector sg = v.broadcast(1f).div(v.neg().lanewise(VectorOperators.EXP).add(1f));
                (timesX ? v.mul(sg) : sg).intoMemorySegment(c, o + 4L * j, LE);
            }
        }
    }

    /**
     * Writes {@code len} tile values of one row to C at element {@code off}: act(alpha·tile + beta·C + bias).
     * Shared by the C writers; overwrites the tile values. Vectors stay inside this method and the activation's
     * own loop: one passed across a call that C2 does not inline is boxed (see {@link Activation#applyInPlace}).
     */
    static void writeRun(float[] tile, int tileOff, int len, float alpha, float beta, float bias, boolean hasBias,
                         Activation act, MemorySegment c, long off) {
        int end = tileOff + len;
        if (beta == 0f && alpha == 1f && act.isClamp()) {
            // The common epilogue in one pass (bias, clamp, store): with a short k (1x1 convolutions over few
            // channels) separate passes and the activation call cost more than the products.
            float lo = act.clampLow(), hi = act.clampHigh();
            FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
            int j = tileOff;
            for (; j + VL <= end; j += VL) {
                // The clamp written out, not Simd.clamp: called from here C2 did not always inline it, and each
                // vector then went through a heap box (about 0.4 MB of garbage per EfficientNet-B0 run).
                FloatVector v = FloatVector.fromArray(S, tile, j).add(bias);
                v = v.blend(lov, v.compare(VectorOperators.LT, lov));
                v.blend(hiv, v.compare(VectorOperators.GT, hiv)).intoMemorySegment(c, (off + j - tileOff) * 4, LE);
            }
            if (j < end) {
                for (int t = j; t < end; t++) {
                    tile[t] = Math.min(Math.max(tile[t] + bias, lo), hi);
                }
                MemorySegment.copy(tile, j, c, FL, (off + j - tileOff) * 4, end - j);
            }
            return;
        }
        if (beta != 0f) {
            int j = tileOff;
            for (; j + VL <= end; j += VL) {
                FloatVector old = FloatVector.fromMemorySegment(S, c, (off + j - tileOff) * 4, LE);
                FloatVector.fromArray(S, tile, j).mul(alpha).add(old.mul(beta)).add(bias).intoArray(tile, j);
            }
            for (; j < end; j++) {
                tile[j] = alpha * tile[j] + beta * c.getAtIndex(FL, off + j - tileOff) + bias;
            }
        } else if (alpha != 1f || hasBias) {
            int j = tileOff;
            for (; j + VL <= end; j += VL) {
                FloatVector.fromArray(S, tile, j).mul(alpha).add(bias).intoArray(tile, j);
            }
            for (; j < end; j++) {
                tile[j] = alpha * tile[j] + bias;
            }
        }
        act.applyInPlace(tile, tileOff, len);
        int j = tileOff;
        for (; j + VL <= end; j += VL) {
            FloatVector.fromArray(S, tile, j).intoMemorySegment(c, (off + j - tileOff) * 4, LE);
        }
        if (j < end) {
            // the tail by bulk copy: masked segment stores ran a slow mask check (a fifth of a convolution's
            // time), and convolution tiles are cut into short runs at every image row
            MemorySegment.copy(tile, j, c, FL, (off + j - tileOff) * 4, end - j);
        }
    }

    private static void checkDims(int m, int n, int k) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("GEMM sizes must be >= 0: m=" + m + " n=" + n + " k=" + k);
        }
    }

    private static void checkOperand(String name, MemorySegment s, long off, int rows, int cols, int ld) {
        if (rows == 0 || cols == 0) {
            return;
        }
        if (ld < cols) {
            throw new IllegalArgumentException("GEMM operand " + name + ": leading dimension " + ld
                    + " is smaller than its " + cols + " columns");
        }
        long lastElement = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || lastElement * 4 > s.byteSize()) {
            throw new IllegalArgumentException("GEMM operand " + name + " (" + rows + "×" + cols + ", ld " + ld
                    + ", offset " + off + ") needs " + lastElement * 4 + " bytes; segment has " + s.byteSize());
        }
    }

    private static void checkBias(float[] bias, int m) {
        if (bias != null && bias.length < m) {
            throw new IllegalArgumentException("Row bias has " + bias.length + " values for " + m + " rows");
        }
    }

    static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }

    /**
     * A per-calling-thread float buffer of at least {@code size} elements for the caller's own use around a GEMM
     * (convolution keeps its padded input there). Contents are undefined; valid until the same thread asks again.
     */
    float[] workspace(int size) {
        Scratch s = scratch.get();
        if (s.work.length < size) {
            s.work = new float[size];
        }
        return s.work;
    }

    /** Per-thread packing buffers. */
    private static final class Scratch {
        final float[] b;
        final float[] tile = new float[MR * NR + VL];     // and one spare vector (kernel12x17)
        /** One vector's lanes (a panel's rows of a one-column product). */
        final float[] lanes = new float[VL];
        private float[] column = new float[0];
        private float[] columnOut = new float[0];
        /** A tile in native memory, for the in-place-B kernels (their stores take native memory only). */
        private MemorySegment nativeTile;
        float[] work = new float[0];
        float[] stage = new float[0];
        float[] packedA = new float[0];
        float[] packedB = new float[0];

        Scratch(int kc, int nc) {
            b = new float[nc * kc];
        }

        float[] columnOut(int m) {
            return columnOut = grow(columnOut, m);
        }

        float[] column(int k) {
            return column = grow(column, k);
        }

        /** {@code a} when it holds at least {@code size} floats, else a new array of that size. */
        private static float[] grow(float[] a, int size) {
            return a.length >= size ? a : new float[size];
        }

        MemorySegment nativeTile() {
            if (nativeTile == null) {
                nativeTile = java.lang.foreign.Arena.ofAuto().allocate(4L * MR * NR, 64);
            }
            return nativeTile;
        }

        float[] packedA(int size) {
            return packedA = grow(packedA, size);
        }

        float[] packedB(int size) {
            return packedB = grow(packedB, size);
        }

        float[] stage(int size) {
            return stage = grow(stage, size);
        }
    }

    /**
     * A left operand packed once into micro-kernel panels (all of k per panel), for constant weights. Immutable
     * and safe to share between threads.
     */
    public static final class PackedA {
        final int m;
        final int k;
        final float[] data;

        PackedA(int m, int k, float[] data) {
            this.m = m;
            this.k = k;
            this.data = data;
        }

        /** Rows of the packed matrix. */
        public int rows() {
            return m;
        }

        /** Columns (the depth k) of the packed matrix. */
        public int cols() {
            return k;
        }

        /** Bytes of heap the packed copy holds. */
        public long byteSize() {
            return 4L * data.length;
        }

        /** An m×k matrix of zeros in the packed layout, to be filled with {@link #set}. */
        static PackedA zeros(int m, int k) {
            checkDims(m, 1, k);
            return new PackedA(m, k, new float[packedSize(m, k)]);
        }

        /** Element (row, col) of the matrix. */
        float get(int row, int col) {
            return data[index(row, col)];
        }

        /** Sets element (row, col); only while the matrix is being built, before it is shared. */
        void set(int row, int col, float v) {
            data[index(row, col)] = v;
        }

        private int index(int row, int col) {
            java.util.Objects.checkIndex(row, m);
            java.util.Objects.checkIndex(col, k);
            int p = row / MR;
            if (splitsTail(m)) {
                int full = m / MR;
                p = row >= m - MR_MID ? full : row >= (full - 1) * MR ? full - 1 : p;
            }
            int start = panelStart(m, p);
            return start * k + col * panelStride(panelRows(m, p)) + row - start;
        }
    }

    /**
     * Packs a k-block × n-block of B into NR-column panels: element (k, j) of panel q at
     * {@code dstOff + q·NR·kc + k·NR + j}, zero-padded to whole panels or holding whatever the source has there
     * (columns past {@code nc} are computed but never written out).
     */
    interface BPacker {
        void pack(int p0, int kc, int j0, int nc, float[] dst, int dstOff);

        /**
         * {@code dst[0..k)} = B's first column. This default packs it a block at a time into {@code work} (one
         * {@code kc × NR} block, {@code kc = work.length / NR}).
         */
        default void column(int k, float[] dst, float[] work) {
            int kc = work.length / NR;
            for (int p0 = 0; p0 < k; p0 += kc) {
                int rows = Math.min(kc, k - p0);
                pack(p0, rows, 0, 1, work, 0);
                for (int r = 0; r < rows; r++) {
                    dst[p0 + r] = work[r * NR];
                }
            }
        }
    }

    /**
     * B read from a row-major (or transposed) matrix in memory: float32, or 8-bit values read as {@code q − zero}
     * ({@link Int8Format}, row-major only; the quantized convolution). One class for both keeps the GEMM's call of
     * {@code pack} bimorphic (with the convolution's packer) in a JVM that runs float and 8-bit models: a third
     * receiver class made it a virtual call and slowed the float models' GEMMs.
     */
    static final class MatrixB implements BPacker {
        private final boolean trans;
        private final MemorySegment seg;
        private final long off;
        private final int ld;
        private final Int8Format f;
        /** Or B held as column panels ({@link #gemmColumnPanels}): the panels, their width and the depth k. */
        private final float[] panels;
        private final int pw;
        private final int depth;

        MatrixB(boolean trans, MemorySegment seg, long off, int ld) {
            this(trans, seg, off, ld, null);
        }

        MatrixB(boolean trans, MemorySegment seg, long off, int ld, Int8Format f) {
            this.trans = trans;
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.f = f;
            this.panels = null;
            this.pw = 0;
            this.depth = 0;
        }

        MatrixB(float[] panels, int pw, int depth) {
            this.trans = false;
            this.seg = null;
            this.off = 0;
            this.ld = 0;
            this.f = null;
            this.panels = panels;
            this.pw = pw;
            this.depth = depth;
        }

        /**
         * A plain row-major float matrix in native memory, at least {@link #IN_PLACE_MIN_WIDTH} wide: the store
         * kernels can read it where it lies. Narrower ones are packed (measured on MobileNetV2's 14×14 and 7×7
         * layers: one packed block then serves every A panel from contiguous memory, and reading in place was
         * 4–11% slower there; 10–20% faster at 28×28 and wider).
         */
        boolean inPlace() {
            return !trans && f == null && panels == null && ld >= IN_PLACE_MIN_WIDTH && seg.isNative();
        }

        /** A float matrix's first column read where it lies (8-bit and panel-held B pack it, as the default). */
        @Override
        public void column(int k, float[] dst, float[] work) {
            if (f != null || panels != null) {
                BPacker.super.column(k, dst, work);
            } else if (trans) {
                MemorySegment.copy(seg, FL, off * 4, dst, 0, k);
            } else {
                for (int r = 0; r < k; r++) {
                    dst[r] = seg.getAtIndex(FL, off + (long) r * ld);
                }
            }
        }

        @Override
        public void pack(int p0, int kc, int j0, int nc, float[] dst, int dstOff) {
            if (f != null) {
                packInt8(p0, kc, j0, nc, dst, dstOff);
                return;
            }
            if (panels != null) {
                packPanels(p0, kc, j0, nc, dst, dstOff);
                return;
            }
            for (int q = 0; q * NR < nc; q++) {
                int base = dstOff + q * NR * kc;
                int cols = Math.min(NR, nc - q * NR);
                int j = j0 + q * NR;
                if (!trans) {
                    for (int k = 0; k < kc; k++) {
                        long src = off + (long) (p0 + k) * ld + j;
                        int d = base + k * NR;
                        if (cols == NR) {
                            FloatVector.fromMemorySegment(S, seg, src * 4, LE).intoArray(dst, d);
                            FloatVector.fromMemorySegment(S, seg, (src + VL) * 4, LE).intoArray(dst, d + VL);
                        } else {
                            // Two loops, never a conditional read: C2's loop predication hoists the bounds check
                            // of a conditional read over the whole loop, fails on the last row, deoptimizes, and
                            // recompiles the same way (a "profile_predicate" trap storm: 10x slower for seconds).
                            MemorySegment.copy(seg, FL, src * 4, dst, d, cols);
                            java.util.Arrays.fill(dst, d + cols, d + NR, 0f);
                        }
                    }
                } else {
                    for (int x = 0; x < NR; x++) {
                        if (x >= cols) {
                            for (int k = 0; k < kc; k++) {
                                dst[base + k * NR + x] = 0f;
                            }
                            continue;
                        }
                        long src = off + (long) (j + x) * ld + p0;
                        for (int k = 0; k < kc; k++) {
                            dst[base + k * NR + x] = seg.getAtIndex(FL, src + k);
                        }
                    }
                }
            }
        }

        /** From column panels: every NR-column row is contiguous there (NR divides pw; the panels are padded). */
        private void packPanels(int p0, int kc, int j0, int nc, float[] dst, int dstOff) {
            for (int q = 0; q * NR < nc; q++) {
                int base = dstOff + q * NR * kc;
                int j = j0 + q * NR;
                int src = j / pw * pw * depth + p0 * pw + j % pw;
                for (int k = 0; k < kc; k++, src += pw) {
                    int d = base + k * NR;
                    FloatVector.fromArray(S, panels, src).intoArray(dst, d);
                    FloatVector.fromArray(S, panels, src + VL).intoArray(dst, d + VL);
                }
            }
        }

        private void packInt8(int p0, int kc, int j0, int nc, float[] dst, int dstOff) {
            for (int q = 0; q * NR < nc; q++) {
                int base = dstOff + q * NR * kc;
                int cols = Math.min(NR, nc - q * NR);
                long src = off + (long) p0 * ld + j0 + (long) q * NR;
                for (int k = 0; k < kc; k++, src += ld) {
                    int d = base + k * NR;
                    Quant.toFloats(seg, src, f, dst, d, cols);
                    if (cols < NR) {
                        java.util.Arrays.fill(dst, d + cols, d + NR, 0f);
                    }
                }
            }
        }
    }

    /** Where finished tiles go: the epilogue of the GEMM. */
    interface CWriter {
        /**
         * Writes the valid {@code mr×nr} part of {@code tile} (row-major, NR floats a row) for C rows
         * {@code [row, row+mr)} and columns {@code [col, col+nr)} as act(alpha·tile + beta·C + bias[row]).
         */
        void write(float[] tile, int row, int mr, int col, int nr, float alpha, float beta, float[] bias,
                   Activation act);

        /** C = act(beta·C + bias) for the whole m×n C: the product is empty (k = 0 or alpha = 0). */
        void scaleOnly(int m, int n, float beta, float[] bias, Activation act);
    }

    /**
     * A C writer whose C is costly to write tile by tile (a convolution's output grid, cut into runs at every
     * image row): the GEMM computes blocks of C into a plain, L2-sized scratch matrix instead, with the
     * micro-kernel's own fused stores, and hands each finished block over at once.
     */
    interface StagedCWriter extends CWriter {
        /** Whether a call with this beta and activation can be staged. */
        boolean stages(float beta, Activation act);

        /**
         * Writes C rows [r0, r1) × columns [c0, c1) from {@code stage} (row-major, row stride {@code ld}, element
         * (r, c) at {@code (r - r0)·ld + c - c0}), which holds the finished {@code alpha·A·B + bias} with the
         * activation applied when {@code addOld} is false; when it is true C = act(stage + C).
         */
        void flush(float[] stage, int ld, int r0, int r1, int c0, int c1, boolean addOld, Activation act);
    }

    /**
     * C as a row-major matrix in memory: float32, or 8-bit with row i requantized as output channel
     * {@code channel0 + i} ({@link Requantization}; the quantized convolution, which takes the whole product once:
     * alpha 1, beta 0, no bias or activation of the GEMM's own). One class for both, as {@link MatrixB}.
     */
    static final class MatrixC implements CWriter {
        final MemorySegment seg;
        final long off;
        final int ld;
        final Requantization q;
        final int channel0;

        MatrixC(MemorySegment seg, long off, int ld) {
            this(seg, off, ld, null, 0);
        }

        MatrixC(MemorySegment seg, long off, int ld, Requantization q, int channel0) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.q = q;
            this.channel0 = channel0;
        }

        @Override
        public void write(float[] tile, int row, int mr, int col, int nr, float alpha, float beta, float[] bias,
                          Activation act) {
            if (q != null) {
                Int8Io.checkPlain(alpha, beta);
                for (int r = 0; r < mr; r++) {
                    q.write(tile, r * NR, channel0 + row + r, seg, off + (long) (row + r) * ld + col, nr);
                }
                return;
            }
            for (int r = 0; r < mr; r++) {
                writeRun(tile, r * NR, nr, alpha, beta, bias == null ? 0f : bias[row + r], bias != null, act,
                        seg, off + (long) (row + r) * ld + col);
            }
        }

        @Override
        public void scaleOnly(int m, int n, float beta, float[] bias, Activation act) {
            if (q != null) {
                throw new IllegalStateException("8-bit output of an empty product");
            }
            for (int i = 0; i < m; i++) {
                long ro = off + (long) i * ld;
                float bv = bias == null ? 0f : bias[i];
                for (int j = 0; j < n; j++) {
                    float v = beta == 0f ? 0f : beta * seg.getAtIndex(FL, ro + j);
                    seg.setAtIndex(FL, ro + j, act.apply(v + bv));
                }
            }
        }
    }
}
