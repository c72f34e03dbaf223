package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3×3, stride-1, undilated, ungrouped convolution by Winograd's minimal filtering F(2×2, 3×3): 16 multiplies
 * per 2×2 output tile and channel pair instead of 36, i.e. 2.25 times fewer; optionally F(4×4, 3×3) (36 per 4×4
 * tile instead of 144, with about five times direct convolution's rounding error; see {@link #prepare(ConvParams,
 * int, Tensor, float[], Activation, int)}).
 *
 * <p>The weights are transformed once ({@code U = G·g·Gᵀ}, sixteen K×C matrices, 36 for F(4×4), packed as the
 * GEMM's A). A run first copies the zero-padded input once into its m×m phase planes (rows and columns split by
 * their remainder modulo the tile side m). Tiles are numbered by slots {@code ti·(tw+1) + tj}, one gap slot per
 * tile row, so the input of a tile is its slot's own index in the phase planes, shifted by whole rows and
 * columns: every transform runs on whole vectors across tiles. Work then goes in blocks of {@link Sgemm#NR} slots, each on one thread and
 * all in cache: the block's input is transformed ({@code V = Bᵀ·d·B} per channel and tile) straight into the GEMM
 * micro-kernel's packed B layout; sixteen panel products give {@code M = U·V} (K×NR each); the output transform
 * ({@code Y = Aᵀ·M·A}) adds the bias and, when asked, what the output held (the residual), applies the
 * activation and writes the tiles. With few blocks (small images), blocks are also split by output-channel
 * panels so both threads work; each part transforms its block's input itself (a 1/K share of its work).
 *
 * <p>Rounding error of F(2×2, 3×3) is a small multiple of direct convolution's (the transforms only add,
 * subtract and halve).
 *
 * <p>Immutable; safe for concurrent runs. Work buffers are per thread and grow once.
 */
public final class Winograd3x3 {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final int NR = Sgemm.NR;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * The transformed input of a block, per channel: sixteen rows (one per transform element) of NR tiles and a
     * vector of slack each (whole-vector stores run past a run's end; the next run or nothing reads there). A
     * channel's sixteen rows are contiguous, so the transform writes sequentially (written as sixteen separate
     * C×NR planes, its stores missed L1 sixteen ways and took three times as long); the GEMM reads each plane
     * with a row stride of {@code vChannel}.
     */
    private static final int V_ROW = NR + VL;
    /** Parts per thread when blocks are split by output channels (load balance against repeated input transforms). */
    private static final int PARTS_PER_THREAD = 3;

    private final ConvParams p;
    private final int inChannels;
    private final int outChannels;
    private final float[] bias;
    private final Activation act;
    /** Output tile side m: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3). */
    private final int tile;
    /** Input tile side m + 2, and the transform's element count (m + 2)². */
    private final int alpha;
    private final int xis;
    /** Floats per channel of a block's transformed input ({@code xis} rows of {@link #V_ROW}). */
    private final int vChannel;
    /**
     * Floats per output channel of a block's products: {@code xis} rows of NR, contiguous for the output
     * transform.
     */
    private final int mChannel;
    private final Sgemm.PackedA[] u;

    /** Per-thread buffers of one block: transformed input, products, segment table, an output row. */
    private static final class Work {
        float[] v = new float[0];
        float[] m = new float[0];
        float[] row = new float[0];
        float[] tmp = new float[0];
        float[] split = new float[0];           // one padded input row and its column phases
        // runs of slots within one image (input transform)
        int[] inImg = new int[NR];
        int[] inSlot = new int[NR];
        int[] inLen = new int[NR];
        int[] inPos = new int[NR];
        int inSegments;
        // runs of tiles along one tile row (output)
        int[] segImg = new int[NR];
        int[] segTi = new int[NR];
        int[] segTj = new int[NR];
        int[] segLen = new int[NR];
        int[] segPos = new int[NR];
        int segments;

        static float[] grow(float[] a, int size) {
            return a.length >= size ? a : new float[size];
        }
    }

    private static final ThreadLocal<Work> WORK = ThreadLocal.withInitial(Work::new);
    /** The calling thread's split copy of the padded input (read by all threads during its run). */
    private static final ThreadLocal<float[][]> SPLIT = ThreadLocal.withInitial(() -> new float[1][0]);

    /** True when {@code p} is a convolution this class computes. */
    public static boolean supports(ConvParams p) {
        return p.kernelH() == 3 && p.kernelW() == 3 && p.strideH() == 1 && p.strideW() == 1
                && p.dilationH() == 1 && p.dilationW() == 1 && p.groups() == 1;
    }

    /**
     * @param weights float32 [K, C, 3, 3]
     * @param bias    K values or null
     */
    public static Winograd3x3 prepare(ConvParams p, int inChannels, Tensor weights, float[] bias, Activation act) {
        return prepare(p, inChannels, weights, bias, act, 2);
    }

    /**
     * As {@link #prepare(ConvParams, int, Tensor, float[], Activation)} with the output tile side: 2 for
     * F(2×2, 3×3), 4 for F(4×4, 3×3) (2.25 and 4 times fewer multiplies than direct convolution; F(4×4)'s
     * transforms have factors up to 8, so its rounding error is about five times direct convolution's).
     */
    public static Winograd3x3 prepare(ConvParams p, int inChannels, Tensor weights, float[] bias, Activation act,
                                      int tile) {
        if (weights.dtype() != DType.FLOAT32 || weights.rank() != 4 || weights.shape().dim(1) != inChannels
                || weights.shape().dim(2) != 3 || weights.shape().dim(3) != 3) {
            throw new IllegalArgumentException("Winograd weights must be float32 [K, " + inChannels + ", 3, 3]; got "
                    + weights);
        }
        float[] g = new float[weights.shape().dim(0) * inChannels * 9];
        try (Tensor w = weights.contiguous() == weights ? null : weights.contiguous()) {
            Tensor src = w == null ? weights : w;
            MemorySegment.copy(src.segment(), FL, src.offset() * 4, g, 0, g.length);
        }
        int cols = inChannels * 9;
        return new Winograd3x3(p, inChannels, weights.shape().dim(0), (row, col) -> g[row * cols + col], bias, act,
                tile);
    }

    /**
     * As {@link #prepare(ConvParams, int, Tensor, float[], Activation, int)} from the direct path's packed weights
     * (K × 9C, row ko holding [C, 3, 3]): read in place, so that building the transformed weights leaves no
     * garbage as large as the weights behind.
     */
    static Winograd3x3 prepare(ConvParams p, int inChannels, Sgemm.PackedA weights, float[] bias, Activation act,
                               int tile) {
        if (weights.cols() != inChannels * 9) {
            throw new IllegalArgumentException("Winograd weights must be [K, " + inChannels * 9 + "]; got ["
                    + weights.rows() + ", " + weights.cols() + "]");
        }
        return new Winograd3x3(p, inChannels, weights.rows(), weights::get, bias, act, tile);
    }

    /** Element (output channel, input channel · 9 + tap) of the weights. */
    private interface WeightSource {
        float get(int row, int col);
    }

    /** G of F(2×2, 3×3) (4×3) and of F(4×4, 3×3) (6×3, interpolation points 0, ±1, ±2, ∞). */
    private static final double[][] G2 = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    private static final double[][] G4 = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

    private Winograd3x3(ConvParams p, int c, int k, WeightSource weights, float[] bias, Activation act, int tile) {
        if (!supports(p)) {
            throw new IllegalArgumentException("Winograd F(2x2,3x3) needs a 3x3 stride-1 undilated ungrouped conv: "
                    + p);
        }
        if (tile != 2 && tile != 4) {
            throw new IllegalArgumentException("Winograd output tiles are 2x2 or 4x4; got " + tile);
        }
        if (bias != null && bias.length != k) {
            throw new IllegalArgumentException("Winograd bias has " + bias.length + " values for " + k
                    + " output channels");
        }
        this.p = p;
        this.inChannels = c;
        this.outChannels = k;
        this.bias = bias == null ? null : bias.clone();
        this.act = act;
        this.tile = tile;
        this.alpha = tile + 2;
        this.xis = alpha * alpha;
        this.vChannel = xis * V_ROW;
        this.mChannel = xis * NR;
        double[][] gm = tile == 2 ? G2 : G4;
        u = new Sgemm.PackedA[xis];
        for (int xi = 0; xi < xis; xi++) {
            u[xi] = Sgemm.PackedA.zeros(k, c);
        }
        double[][] tmp = new double[alpha][3];
        for (int ko = 0; ko < k; ko++) {
            for (int ci = 0; ci < c; ci++) {
                int g = ci * 9;
                // U = G·g·Gᵀ in double, written straight into the packed matrices
                for (int a = 0; a < alpha; a++) {
                    for (int j = 0; j < 3; j++) {
                        tmp[a][j] = gm[a][0] * weights.get(ko, g + j) + gm[a][1] * weights.get(ko, g + 3 + j)
                                + gm[a][2] * weights.get(ko, g + 6 + j);
                    }
                }
                for (int a = 0; a < alpha; a++) {
                    for (int b = 0; b < alpha; b++) {
                        u[a * alpha + b].set(ko, ci,
                                (float) (tmp[a][0] * gm[b][0] + tmp[a][1] * gm[b][1] + tmp[a][2] * gm[b][2]));
                    }
                }
            }
        }
    }

    /** The output tile side: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3). */
    public int tile() {
        return tile;
    }

    public int outChannels() {
        return outChannels;
    }

    public int inChannels() {
        return inChannels;
    }

    /** Bytes of the transformed weights (16 K×C matrices, 36 for F(4×4), panel-padded). */
    public long weightBytes() {
        long b = 0;
        for (Sgemm.PackedA a : u) {
            b += a.byteSize();
        }
        return b;
    }

    /**
     * Runs on contiguous NCHW float32 memory: input [n, C, h, w] at element {@code inOff}, output [n, K, oh, ow]
     * at {@code outOff}; {@code residual} (same shape as the output, may be null, may be the output itself) is
     * added before the activation.
     */
    public void forward(ThreadPool pool, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out,
                        long outOff, MemorySegment residual, long resOff) {
        int oh = p.outH(h), ow = p.outW(w);
        if (residual != null && oh > 0 && ow > 0 && !(residual.equals(out) && resOff == outOff)) {
            MemorySegment.copy(residual, resOff * 4, out, outOff * 4, (long) n * outChannels * oh * ow * 4);
        }
        forward(pool, in, inOff, n, h, w, out, outOff, residual != null);
    }

    /**
     * Runs on contiguous NCHW float32 memory: {@code out = act(conv(in) + bias + (accumulate ? out : 0))}.
     * Buffers are checked by the caller.
     */
    public void forward(ThreadPool pool, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out,
                        long outOff, boolean accumulate) {
        int oh = p.outH(h), ow = p.outW(w);
        if (oh <= 0 || ow <= 0 || n == 0) {
            return;
        }
        Geometry geo = new Geometry(n, h, w, oh, ow);
        float[][] holder = SPLIT.get();
        int phases = tile * tile;
        long splitSize = (long) n * inChannels * phases * geo.planeSize;
        if (splitSize > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("Winograd input copy too large for " + n + " images of " + h + "x"
                    + w);
        }
        if (holder[0].length < splitSize) {
            holder[0] = new float[(int) splitSize];
        }
        float[] split = holder[0];
        int planes = n * inChannels;
        int chunks = Math.min(planes, pool.threads() * 4);
        pool.parallelFor(chunks, t -> {
            Work wk = WORK.get();
            wk.split = Work.grow(wk.split, 2 * tile * geo.rowVec);
            float[] rowBuf = wk.split;
            for (int pl = planes * t / chunks, end = planes * (t + 1) / chunks; pl < end; pl++) {
                splitPlane(in, inOff + (long) pl * h * w, h, w, geo, split, pl * phases * geo.planeSize, rowBuf);
            }
        });
        int blocks = (int) ((geo.slots + NR - 1) / NR);
        int kPanels = Sgemm.panels(outChannels);
        int threads = pool.threads();
        int kSplit = threads == 1 || blocks >= PARTS_PER_THREAD * threads ? 1
                : Math.min(kPanels, (PARTS_PER_THREAD * threads + blocks - 1) / blocks);
        pool.parallelFor(blocks * kSplit, unit -> {
            int b = unit / kSplit, kp = unit % kSplit;
            int p0 = kPanels * kp / kSplit, p1 = kPanels * (kp + 1) / kSplit;
            if (p1 > p0) {
                block(geo, split, b * NR, (int) Math.min(NR, geo.slots - (long) b * NR), p0, p1, out, outOff,
                        accumulate);
            }
        });
    }

    /**
     * Sizes of one run. Tiles are numbered by slots: tile (ti, tj) of an image is slot {@code ti·W + tj} with
     * {@code W = tw + 1}, so slot {@code ti·W + tw} of each tile row is a gap (computed, never written) and the
     * input of every slot is at the slot's own index in the four phase planes (see {@link #splitPlane}).
     */
    private final class Geometry {
        final int n, h, w, oh, ow, th, tw, wp, slotsPerImage, rowVec, planeSize;
        final long slots;

        Geometry(int n, int h, int w, int oh, int ow) {
            this.n = n;
            this.h = h;
            this.w = w;
            this.oh = oh;
            this.ow = ow;
            th = (oh + tile - 1) / tile;
            tw = (ow + tile - 1) / tile;
            wp = tw + 1;
            slotsPerImage = Math.multiplyExact(th, wp);
            slots = (long) n * slotsPerImage;
            rowVec = Sgemm.roundUp(wp, VL);
            // (th + 1) rows of wp, and a vector of slack: whole-vector reads and writes run past a row's end
            planeSize = Math.addExact(Math.multiplyExact(th + 1, wp), VL);
        }
    }

    /**
     * Copies one input channel, zero-padded, into four phase planes at {@code dst}: plane {@code 2·py + px} holds
     * the padded pixels at rows ≡ py and columns ≡ px (mod 2), (th + 1) rows of {@code wp}. The 4×4 input of the
     * tile at slot s is then, for row r and column c, element {@code s + (r/2)·wp + c/2} of plane
     * {@code 2·(r%2) + c%2}: contiguous across slots.
     */
    private void splitPlane(MemorySegment in, long planeOff, int h, int w, Geometry geo, float[] split, int dst,
                            float[] rowBuf) {
        int pt = p.padTop(), pl = p.padLeft(), m = tile;
        int len = m * geo.rowVec, wp = geo.wp, ps = geo.planeSize, rv = geo.rowVec;
        int copy = Math.max(0, Math.min(w, len - pl));
        // the padding columns stay zero: every row writes only [pl, pl + copy); F(4×4)'s halves follow at len
        Arrays.fill(rowBuf, 0, Math.min(pl, len), 0f);
        Arrays.fill(rowBuf, Math.min(pl + copy, len), len, 0f);
        for (int y = 0; y < m * (geo.th + 1); y++) {
            int sy = y - pt;
            int d = dst + (y % m) * m * ps + (y / m) * wp;     // row y / m of phase plane (y % m, 0)
            if (sy < 0 || sy >= h || copy == 0) {
                for (int px = 0; px < m; px++) {
                    Arrays.fill(split, d + px * ps, d + px * ps + wp, 0f);
                }
                continue;
            }
            MemorySegment.copy(in, FL, (planeOff + (long) sy * w) * 4, rowBuf, pl, copy);
            // rows in increasing order: what a row writes past its end, the next row overwrites
            if (m == 2) {
                Simd.splitEvenOdd(rowBuf, len, split, d, split, d + ps);
            } else {
                // columns ≡ 0, 2 (mod 4) are the even columns' evens and odds, 1 and 3 the odd columns'
                Simd.splitEvenOdd(rowBuf, 0, len, rowBuf, len, rowBuf, len + 2 * rv);
                Simd.splitEvenOdd(rowBuf, len, 2 * rv, split, d, split, d + 2 * ps);
                Simd.splitEvenOdd(rowBuf, len + 2 * rv, 2 * rv, split, d + ps, split, d + 3 * ps);
            }
        }
    }

    /** One block: slots [g0, g0 + count) against the output-channel panels [p0, p1). */
    private void block(Geometry geo, float[] split, long g0, int count, int p0, int p1, MemorySegment out,
                       long outOff, boolean accumulate) {
        Work wk = WORK.get();
        int c = inChannels, k = outChannels;
        wk.v = Work.grow(wk.v, c * vChannel);
        wk.m = Work.grow(wk.m, (k + Sgemm.MR) * mChannel);     // a short last panel writes its full row count
        // tile rows of the output, each tile·NR wide; a run ending near the end is read in whole vectors
        wk.row = Work.grow(wk.row, tile * tile * NR + VL);
        wk.tmp = Work.grow(wk.tmp, 2 * 36 * VL);
        segments(geo, g0, count, wk);
        float[] v = wk.v, m = wk.m;
        for (int ci = 0; ci < c; ci++) {
            if (tile == 2) {
                inputTransform(geo, split, ci, wk, v);
            } else {
                inputTransform4(geo, split, ci, wk, v);
            }
        }
        for (int xi = 0; xi < xis; xi++) {
            Sgemm.panelProduct(u[xi], p0, p1, v, xi * V_ROW, vChannel, m, xi * NR, mChannel);
        }
        int k0 = Sgemm.panelStart(k, p0);
        int k1 = p1 == Sgemm.panels(k) ? k : Sgemm.panelStart(k, p1);
        for (int ko = k0; ko < k1; ko++) {
            if (tile == 2) {
                outputTransform(geo, ko, count, wk, m);
            } else {
                outputTransform4(ko, count, wk, m);
            }
            writeTiles(geo, ko, wk, out, outOff, accumulate);
        }
    }

    /**
     * Cuts slots [g0, g0 + count) into runs within one image (for the input transform) and into runs along tile
     * rows without the gap slots (for the output).
     */
    private static void segments(Geometry geo, long g0, int count, Work wk) {
        int s = 0, o = 0;
        int spi = geo.slotsPerImage;
        for (long g = g0, end = g0 + count; g < end; ) {
            int img = (int) (g / spi);
            int slot = (int) (g - (long) img * spi);
            int len = (int) Math.min(spi - slot, end - g);
            wk.inImg[s] = img;
            wk.inSlot[s] = slot;
            wk.inLen[s] = len;
            wk.inPos[s] = (int) (g - g0);
            s++;
            for (int q = slot; q < slot + len; ) {
                int ti = q / geo.wp, tj = q - ti * geo.wp;
                if (tj == geo.tw) {
                    q++;
                    continue;
                }
                int run = Math.min(geo.tw - tj, slot + len - q);
                wk.segImg[o] = img;
                wk.segTi[o] = ti;
                wk.segTj[o] = tj;
                wk.segLen[o] = run;
                wk.segPos[o] = (int) (g - g0) + q - slot;
                o++;
                q += run;
            }
            g += len;
        }
        wk.inSegments = s;
        wk.segments = o;
    }

    /**
     * {@code V = Bᵀ·d·B} of channel {@code ci} for the block's slots, into row {@code ci} of the sixteen panels.
     * Whole vectors are stored: what a run writes past its end is overwritten by the next run or lands in the
     * row's slack (runs go in increasing order).
     */
    private void inputTransform(Geometry geo, float[] split, int ci, Work wk, float[] v) {
        int ps = geo.planeSize, wp = geo.wp;
        for (int s = 0; s < wk.inSegments; s++) {
            int base = (wk.inImg[s] * inChannels + ci) * 4 * ps + wk.inSlot[s];
            int dst = ci * vChannel + wk.inPos[s];
            for (int j = 0; j < wk.inLen[s]; j += VL) {
                // row r of every tile: planes 2·(r%2) (even columns) and 2·(r%2)+1 (odd), shifted by (r/2)·wp
                int r0 = base + j, r1 = r0 + 2 * ps, r2 = r0 + wp, r3 = r1 + wp;
                // B along columns, row by row: columns 2t..2t+3 of a tile are even[t], odd[t], even[t+1], odd[t+1]
                FloatVector e0 = FloatVector.fromArray(S, split, r0);
                FloatVector o0 = FloatVector.fromArray(S, split, r0 + ps);
                FloatVector e1 = FloatVector.fromArray(S, split, r0 + 1);
                FloatVector o1 = FloatVector.fromArray(S, split, r0 + ps + 1);
                FloatVector a00 = e0.sub(e1), a01 = o0.add(e1), a02 = e1.sub(o0), a03 = o0.sub(o1);
                e0 = FloatVector.fromArray(S, split, r1);
                o0 = FloatVector.fromArray(S, split, r1 + ps);
                e1 = FloatVector.fromArray(S, split, r1 + 1);
                o1 = FloatVector.fromArray(S, split, r1 + ps + 1);
                FloatVector a10 = e0.sub(e1), a11 = o0.add(e1), a12 = e1.sub(o0), a13 = o0.sub(o1);
                e0 = FloatVector.fromArray(S, split, r2);
                o0 = FloatVector.fromArray(S, split, r2 + ps);
                e1 = FloatVector.fromArray(S, split, r2 + 1);
                o1 = FloatVector.fromArray(S, split, r2 + ps + 1);
                FloatVector a20 = e0.sub(e1), a21 = o0.add(e1), a22 = e1.sub(o0), a23 = o0.sub(o1);
                e0 = FloatVector.fromArray(S, split, r3);
                o0 = FloatVector.fromArray(S, split, r3 + ps);
                e1 = FloatVector.fromArray(S, split, r3 + 1);
                o1 = FloatVector.fromArray(S, split, r3 + ps + 1);
                FloatVector a30 = e0.sub(e1), a31 = o0.add(e1), a32 = e1.sub(o0), a33 = o0.sub(o1);
                // Bᵀ along rows: V row 0 = a0 − a2, 1 = a1 + a2, 2 = a2 − a1, 3 = a1 − a3
                int d = dst + j;
                a00.sub(a20).intoArray(v, d);
                a01.sub(a21).intoArray(v, d + V_ROW);
                a02.sub(a22).intoArray(v, d + 2 * V_ROW);
                a03.sub(a23).intoArray(v, d + 3 * V_ROW);
                a10.add(a20).intoArray(v, d + 4 * V_ROW);
                a11.add(a21).intoArray(v, d + 5 * V_ROW);
                a12.add(a22).intoArray(v, d + 6 * V_ROW);
                a13.add(a23).intoArray(v, d + 7 * V_ROW);
                a20.sub(a10).intoArray(v, d + 8 * V_ROW);
                a21.sub(a11).intoArray(v, d + 9 * V_ROW);
                a22.sub(a12).intoArray(v, d + 10 * V_ROW);
                a23.sub(a13).intoArray(v, d + 11 * V_ROW);
                a10.sub(a30).intoArray(v, d + 12 * V_ROW);
                a11.sub(a31).intoArray(v, d + 13 * V_ROW);
                a12.sub(a32).intoArray(v, d + 14 * V_ROW);
                a13.sub(a33).intoArray(v, d + 15 * V_ROW);
            }
        }
    }

    /**
     * {@code Y = Aᵀ·M·A} for output channel {@code ko} over the block's {@code count} slots, plus bias, into two
     * row buffers (the tiles' first and second output rows, interleaved); then each run of tiles along a tile row
     * is written out, with the output's old value added when accumulating and the activation applied.
     */
    private void outputTransform(Geometry geo, int ko, int count, Work wk, float[] m) {
        float b = bias == null ? 0f : bias[ko];
        FloatVector bv = FloatVector.broadcast(S, b);
        FloatVector lo = FloatVector.fromArray(S, Simd.INTERLEAVE_LOW, 0);
        FloatVector hi = FloatVector.fromArray(S, Simd.INTERLEAVE_HIGH, 0);
        float[] row = wk.row;
        int rowHalf = 2 * NR;                      // second output row's offset in the row buffer
        int src = ko * mChannel;
        for (int j = 0; j < count; j += VL) {
            int q = src + j;
            FloatVector m00 = FloatVector.fromArray(S, m, q);
            FloatVector m01 = FloatVector.fromArray(S, m, q + NR);
            FloatVector m02 = FloatVector.fromArray(S, m, q + 2 * NR);
            FloatVector m03 = FloatVector.fromArray(S, m, q + 3 * NR);
            FloatVector m10 = FloatVector.fromArray(S, m, q + 4 * NR);
            FloatVector m11 = FloatVector.fromArray(S, m, q + 5 * NR);
            FloatVector m12 = FloatVector.fromArray(S, m, q + 6 * NR);
            FloatVector m13 = FloatVector.fromArray(S, m, q + 7 * NR);
            FloatVector m20 = FloatVector.fromArray(S, m, q + 8 * NR);
            FloatVector m21 = FloatVector.fromArray(S, m, q + 9 * NR);
            FloatVector m22 = FloatVector.fromArray(S, m, q + 10 * NR);
            FloatVector m23 = FloatVector.fromArray(S, m, q + 11 * NR);
            FloatVector m30 = FloatVector.fromArray(S, m, q + 12 * NR);
            FloatVector m31 = FloatVector.fromArray(S, m, q + 13 * NR);
            FloatVector m32 = FloatVector.fromArray(S, m, q + 14 * NR);
            FloatVector m33 = FloatVector.fromArray(S, m, q + 15 * NR);
            // Aᵀ along rows: row 0 = m0 + m1 + m2, row 1 = m1 − m2 − m3
            FloatVector s00 = m00.add(m10).add(m20), s10 = m10.sub(m20).sub(m30);
            FloatVector s01 = m01.add(m11).add(m21), s11 = m11.sub(m21).sub(m31);
            FloatVector s02 = m02.add(m12).add(m22), s12 = m12.sub(m22).sub(m32);
            FloatVector s03 = m03.add(m13).add(m23), s13 = m13.sub(m23).sub(m33);
            // A along columns, plus the bias
            FloatVector y00 = s00.add(s01).add(s02).add(bv), y01 = s01.sub(s02).sub(s03).add(bv);
            FloatVector y10 = s10.add(s11).add(s12).add(bv), y11 = s11.sub(s12).sub(s13).add(bv);
            lo.selectFrom(y00, y01).intoArray(row, 2 * j);
            hi.selectFrom(y00, y01).intoArray(row, 2 * j + VL);
            lo.selectFrom(y10, y11).intoArray(row, rowHalf + 2 * j);
            hi.selectFrom(y10, y11).intoArray(row, rowHalf + 2 * j + VL);
        }
    }

    /**
     * F(4×4, 3×3)'s {@code V = Bᵀ·d·B} of channel {@code ci} for the block's slots (see {@link #inputTransform}),
     * in two passes through a small buffer: Bᵀ along each of the six input rows, then along each of the six
     * columns (36 values live at once would not fit the vector registers).
     */
    private void inputTransform4(Geometry geo, float[] split, int ci, Work wk, float[] v) {
        int ps = geo.planeSize, wp = geo.wp;
        float[] t = wk.tmp;
        for (int s = 0; s < wk.inSegments; s++) {
            int base = (wk.inImg[s] * inChannels + ci) * 16 * ps + wk.inSlot[s];
            int dst = ci * vChannel + wk.inPos[s];
            for (int j = 0; j < wk.inLen[s]; j += VL) {
                int q = base + j;
                // input row r is row r / 4 further down phase row r % 4; column c is phase c % 4, shifted c / 4
                for (int r = 0; r < 6; r++) {
                    int rb = q + (r & 3) * 4 * ps + (r >> 2) * wp;
                    bt6(split, rb, rb + ps, rb + 2 * ps, rb + 3 * ps, rb + 1, rb + ps + 1, t, r * 6 * VL, VL);
                }
                for (int b = 0; b < 6; b++) {
                    int o = b * VL, st = 6 * VL;
                    bt6(t, o, o + st, o + 2 * st, o + 3 * st, o + 4 * st, o + 5 * st, v, dst + j + b * V_ROW,
                            6 * V_ROW);
                }
            }
        }
    }

    /**
     * {@code Bᵀ·x} of F(4×4, 3×3) for the six vectors at {@code src[o0]} … {@code src[o5]}, the six results to
     * {@code dst[d + i·stride]}. Bᵀ rows: [4 0 -5 0 1 0] [0 -4 -4 1 1 0] [0 4 -4 -1 1 0] [0 -2 -1 2 1 0]
     * [0 2 -1 -2 1 0] [0 4 0 -5 0 1]. Vectors stay inside (see {@link Activation#applyInPlace}).
     */
    private static void bt6(float[] src, int o0, int o1, int o2, int o3, int o4, int o5, float[] dst, int d,
                            int stride) {
        FloatVector x0 = FloatVector.fromArray(S, src, o0);
        FloatVector x1 = FloatVector.fromArray(S, src, o1);
        FloatVector x2 = FloatVector.fromArray(S, src, o2);
        FloatVector x3 = FloatVector.fromArray(S, src, o3);
        FloatVector x4 = FloatVector.fromArray(S, src, o4);
        FloatVector x5 = FloatVector.fromArray(S, src, o5);
        FloatVector four = FloatVector.broadcast(S, 4f), minusFour = FloatVector.broadcast(S, -4f);
        FloatVector minusFive = FloatVector.broadcast(S, -5f);
        FloatVector t1 = x2.fma(minusFour, x4), t2 = x1.fma(minusFour, x3);
        FloatVector t3 = x4.sub(x2), t4 = x3.sub(x1);
        t4 = t4.add(t4);
        x0.fma(four, x2.fma(minusFive, x4)).intoArray(dst, d);
        t1.add(t2).intoArray(dst, d + stride);
        t1.sub(t2).intoArray(dst, d + 2 * stride);
        t3.add(t4).intoArray(dst, d + 3 * stride);
        t3.sub(t4).intoArray(dst, d + 4 * stride);
        x1.fma(four, x3.fma(minusFive, x5)).intoArray(dst, d + 5 * stride);
    }

    /**
     * F(4×4, 3×3)'s {@code Y = Aᵀ·M·A} for output channel {@code ko} over the block's {@code count} slots, plus
     * bias, into four row buffers (see {@link #outputTransform}): Aᵀ along each of M's six rows, then along each
     * of the four columns, then each output row's four values per tile interleaved.
     */
    private void outputTransform4(int ko, int count, Work wk, float[] m) {
        float b = bias == null ? 0f : bias[ko];
        FloatVector lo = FloatVector.fromArray(S, Simd.INTERLEAVE_LOW, 0);
        FloatVector hi = FloatVector.fromArray(S, Simd.INTERLEAVE_HIGH, 0);
        float[] t = wk.tmp, row = wk.row;
        int y = 36 * VL;                        // the 4×4 outputs, after the 6×4 intermediate
        int rowStride = 4 * NR;
        int src = ko * mChannel;
        for (int j = 0; j < count; j += VL) {
            for (int a = 0; a < 6; a++) {
                at6(m, src + j + a * 6 * NR, NR, 0f, t, a * 4 * VL, VL);
            }
            for (int c = 0; c < 4; c++) {
                at6(t, c * VL, 4 * VL, b, t, y + c * VL, 4 * VL);
            }
            // output row i of VL tiles: their columns 0..3 interleaved, 4·VL values
            for (int i = 0; i < 4; i++) {
                FloatVector y0 = FloatVector.fromArray(S, t, y + 4 * i * VL);
                FloatVector y1 = FloatVector.fromArray(S, t, y + (4 * i + 1) * VL);
                FloatVector y2 = FloatVector.fromArray(S, t, y + (4 * i + 2) * VL);
                FloatVector y3 = FloatVector.fromArray(S, t, y + (4 * i + 3) * VL);
                FloatVector aLo = lo.selectFrom(y0, y2), aHi = hi.selectFrom(y0, y2);
                FloatVector bLo = lo.selectFrom(y1, y3), bHi = hi.selectFrom(y1, y3);
                int o = i * rowStride + 4 * j;
                lo.selectFrom(aLo, bLo).intoArray(row, o);
                hi.selectFrom(aLo, bLo).intoArray(row, o + VL);
                lo.selectFrom(aHi, bHi).intoArray(row, o + 2 * VL);
                hi.selectFrom(aHi, bHi).intoArray(row, o + 3 * VL);
            }
        }
    }

    /**
     * {@code Aᵀ·x + bias} of F(4×4, 3×3) for the six vectors at {@code src[o + i·step]}, the four results to
     * {@code dst[d + i·stride]}. Aᵀ rows: [1 1 1 1 1 0] [0 1 -1 2 -2 0] [0 1 1 4 4 0] [0 1 -1 8 -8 1].
     */
    private static void at6(float[] src, int o, int step, float bias, float[] dst, int d, int stride) {
        FloatVector m0 = FloatVector.fromArray(S, src, o);
        FloatVector m1 = FloatVector.fromArray(S, src, o + step);
        FloatVector m2 = FloatVector.fromArray(S, src, o + 2 * step);
        FloatVector m3 = FloatVector.fromArray(S, src, o + 3 * step);
        FloatVector m4 = FloatVector.fromArray(S, src, o + 4 * step);
        FloatVector m5 = FloatVector.fromArray(S, src, o + 5 * step);
        FloatVector sa = m1.add(m2), da = m1.sub(m2), sb = m3.add(m4), db = m3.sub(m4);
        m0.add(sa).add(sb).add(bias).intoArray(dst, d);
        db.fma(FloatVector.broadcast(S, 2f), da).add(bias).intoArray(dst, d + stride);
        sb.fma(FloatVector.broadcast(S, 4f), sa).add(bias).intoArray(dst, d + 2 * stride);
        db.fma(FloatVector.broadcast(S, 8f), da).add(m5).add(bias).intoArray(dst, d + 3 * stride);
    }

    /** Writes the row buffers' runs of tiles out: {@code tile} output rows per tile row, cropped at the edges. */
    private void writeTiles(Geometry geo, int ko, Work wk, MemorySegment out, long outOff, boolean accumulate) {
        float[] row = wk.row;
        int m = tile, rowStride = m * NR;
        for (int s = 0; s < wk.segments; s++) {
            int img = wk.segImg[s], oy = m * wk.segTi[s], ox = m * wk.segTj[s], from = m * wk.segPos[s];
            int cnt = Math.min(m * wk.segLen[s], geo.ow - ox);
            long plane = outOff + ((long) img * outChannels + ko) * geo.oh * geo.ow;
            for (int i = 0; i < m && oy + i < geo.oh; i++) {
                writeRow(row, i * rowStride + from, out, plane + (long) (oy + i) * geo.ow + ox, cnt, accumulate);
            }
        }
    }

    /**
     * Adds the output's old values when accumulating, applies the activation, stores {@code cnt} floats. Clamp
     * activations (none, ReLU, Clip) are applied in the same vector pass, the row's last vector stored under a
     * mask; the others take a pass of their own and a copy.
     */
    private void writeRow(float[] row, int from, MemorySegment out, long off, int cnt, boolean accumulate) {
        if (act.isClamp()) {
            FloatVector lov = FloatVector.broadcast(S, act.clampLow()), hiv = FloatVector.broadcast(S, act.clampHigh());
            for (int j = 0; j < cnt; j += VL) {
                long byteOff = (off + j) * 4;
                FloatVector y = FloatVector.fromArray(S, row, from + j);
                if (j + VL <= cnt) {
                    if (accumulate) {
                        y = y.add(FloatVector.fromMemorySegment(S, out, byteOff, NATIVE));
                    }
                    y = y.blend(lov, y.compare(VectorOperators.LT, lov));     // Simd.clamp, written out (see Sgemm)
                    y.blend(hiv, y.compare(VectorOperators.GT, hiv)).intoMemorySegment(out, byteOff, NATIVE);
                } else {
                    VectorMask<Float> mask = S.indexInRange(j, cnt);
                    if (accumulate) {
                        y = y.add(FloatVector.fromMemorySegment(S, out, byteOff, NATIVE, mask));
                    }
                    y = y.blend(lov, y.compare(VectorOperators.LT, lov));
                    y.blend(hiv, y.compare(VectorOperators.GT, hiv)).intoMemorySegment(out, byteOff, NATIVE, mask);
                }
            }
            return;
        }
        if (accumulate) {
            int j = 0;
            for (; j <= cnt - VL; j += VL) {
                FloatVector.fromArray(S, row, from + j)
                        .add(FloatVector.fromMemorySegment(S, out, (off + j) * 4, NATIVE))
                        .intoArray(row, from + j);
            }
            for (; j < cnt; j++) {
                row[from + j] += out.getAtIndex(FL, off + j);
            }
        }
        act.applyInPlace(row, from, cnt);
        MemorySegment.copy(row, from, out, FL, off * 4, cnt);
    }

    private static final java.nio.ByteOrder NATIVE = java.nio.ByteOrder.nativeOrder();
}
