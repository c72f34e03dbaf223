package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The weight gradient of a 3×3, stride-1, pad-1, undilated, one-group convolution by Winograd's F(2×2, 3×3) or
 * F(4×4, 3×3) ({@link #tile}), as cuDNN's wgrad does: 16 multiply-adds per 2×2 output tile and channel pair instead
 * of 36, or 36 per 4×4 tile instead of 144.
 *
 * <p>With {@code U = G·g·Gᵀ} and {@code V = Bᵀ·d·B} the forward pass computes a tile as {@code Y = Aᵀ·(U ⊙ V)·A},
 * so {@code ∂L/∂U = (A·dY·Aᵀ) ⊙ V} per tile and {@code ∂L/∂g = Gᵀ·(Σ_tiles ∂L/∂U)·G}. Per group of images each
 * thread transposes the input and dY to channels-last, transforms every tile ({@code V} per input channel, {@code
 * Z = A·dY·Aᵀ} per output channel, SIMD across channels) into sixteen (F(4×4): 36) tile-major matrices, and
 * accumulates the products {@code dU_ξ += Z_ξᵀ·V_ξ} (reductions over the tiles, in 12×2-vector register tiles read straight
 * from those matrices: no packing); the threads' accumulators are added in task order and transformed back once.
 * Groups are dealt out statically, so results do not depend on thread timing. Tested against the float64 reference
 * by {@code ConvBackwardTest}.
 *
 * <p>Measured (2 threads, batch 128, FashionNet's layers, against {@link ShiftedDot}, 2026-11-27): 32→32 at 28×28
 * 11.6–14.4 → 9.3–9.7 ms; 64→64 at 14×14 11.9–13.1 → 7.7–8.2 ms; 32→64 at 14×14 6.2–6.4 → 4.6–5.6 ms. Since
 * (ninth session): register transposes for the channels-last copies (32→32 at 28×28 → 7.5–7.6 ms), F(4×4) where it
 * pays (→ 4.8–4.9 ms). F(4×4)'s rounding error is a few times F(2×2)'s (its transforms scale by up to 8 and 1/24):
 * within {@code 1e-6·Σ|dy·x|} per weight in the tests.
 */
final class WinogradGrad {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Tiles a group aims at: long reductions per register tile, the transformed data within L2 (256 measured best). */
    private static final int TARGET_TILES = Integer.getInteger("tandem.conv.winogradGradTiles", 256);
    /** Most 2×2 tiles per image (64×64 images). */
    static final int MAX_TILES = 1024;

    private WinogradGrad() {
    }

    /**
     * Whether {@link #weight} handles this convolution: 3×3, stride 1, pad 1 all round, no dilation, one group,
     * channel counts where the transforms pay (whole vectors of channels, enough of them), and images of at most
     * {@link #MAX_TILES} tiles (a group holds whole images: larger ones would need buffers of tens of MB per thread).
     */
    static boolean applies(ConvParams p, int c, int m, int h, int w) {
        return ENABLED && (long) ((h + 1) / 2) * ((w + 1) / 2) <= MAX_TILES && p.kernelH() == 3
                && p.kernelW() == 3 && p.strideH() == 1 && p.strideW() == 1
                && p.dilationH() == 1 && p.dilationW() == 1 && p.groups() == 1 && p.padTop() == 1
                && p.padLeft() == 1 && p.padBottom() == 1 && p.padRight() == 1 && c % (2 * VL) == 0 && m % VL == 0
                && c >= 32 && m >= 32;
    }

    /** System property {@code tandem.conv.winogradGrad} (default true; false leaves these gradients to ShiftedDot). */
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("tandem.conv.winogradGrad"));

    /**
     * System property {@code tandem.conv.winogradGradTile}: {@code 2} or {@code 4} forces F(2×2) or F(4×4); unset,
     * {@link #tile} chooses.
     */
    static final int FORCED_TILE = Integer.getInteger("tandem.conv.winogradGradTile", 0);

    /**
     * The output tile side for h×w images: F(4×4, 3×3) (a quarter of direct's products instead of 4/9) where its
     * 4×4 tiles cover no more padding than F(2×2)'s 2×2 tiles, i.e. {@code 4·tiles₄ ≤ tiles₂}; else F(2×2).
     * Measured (2 threads, batch 128, F(2×2) → F(4×4), ms): 32→32 at 28×28 7.61 → 4.8–4.9, 32→32 at 56×56 31.8 →
     * 19.8–20.4, 64→128 at 16×16 16.5–17.9 → 11.8–12.1, 64→64 at 7×7 2.63–2.66 → 2.31–2.41; but at 14×14, where
     * 4×4 tiles cover 16×16, 64→64 6.62–6.71 → 6.50–6.57 and 32→64 3.60–3.73 → 3.77–4.09.
     */
    static int tile(int h, int w) {
        if (FORCED_TILE == 2 || FORCED_TILE == 4) {
            return FORCED_TILE;
        }
        long t2 = (long) ((h + 1) / 2) * ((w + 1) / 2), t4 = (long) ((h + 3) / 4) * ((w + 3) / 4);
        return 4 * t4 <= t2 ? 4 : 2;
    }

    /** {@code dw [m, c, 3, 3]} from {@code dy [n, m, h, w]} and {@code x [n, c, h, w]}, all contiguous. */
    static void weight(ThreadPool pool, Tensor dy, Tensor x, Tensor dw) {
        weight(pool, dy, x, dw, tile(x.shape().dim(2), x.shape().dim(3)));
    }

    /** {@link #weight(ThreadPool, Tensor, Tensor, Tensor)} with output tiles of side {@code tile} (2 or 4). */
    static void weight(ThreadPool pool, Tensor dy, Tensor x, Tensor dw, int tile) {
        if (tile != 2 && tile != 4) {
            throw new IllegalArgumentException("Winograd weight gradient tiles are 2 or 4, not " + tile);
        }
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int m = dw.shape().dim(0);
        int alpha = tile + 2, xis = alpha * alpha;
        int th = (h + tile - 1) / tile, tw = (w + tile - 1) / tile, tiles = th * tw;
        // input rows: a zero row and column before, and enough after for the last tile's alpha columns
        int xRow = tile * tw + 2, yRow = tile * tw;
        // as many transformed values per group as TARGET_TILES tiles of F(2×2) make
        int group = Math.max(1, Math.min(n, Math.round((float) TARGET_TILES * 16 / xis / tiles)));
        int groups = (n + group - 1) / group;
        int tasks = Math.min(pool.threads(), groups);
        float[][] partial = new float[tasks][];
        pool.parallelFor(tasks, t -> {
            int maxT = group * tiles;
            float[] v = new float[xis * maxT * c];        // V_ξ: [ξ][tile][c]
            float[] z = new float[xis * maxT * m];        // Z_ξ: [ξ][tile][m]
            float[] xt = new float[(tile * th + 2) * xRow * c];   // one image, channels last, zero border
            float[] yt = new float[tile * th * yRow * m];         // one image's dY, channels last, zeros after
            float[] du = new float[xis * m * c];
            float[] tmp = new float[xis * VL];
            int[] xDest = destinations(h, w, 1, xRow, c), yDest = destinations(h, w, 0, yRow, m);
            for (int gi = t; gi < groups; gi += tasks) {
                int b0 = gi * group, b1 = Math.min(n, b0 + group);
                int count = (b1 - b0) * tiles;
                for (int b = b0; b < b1; b++) {
                    int t0 = (b - b0) * tiles;
                    Transpose.channelsLast(x.segment(), x.offset() + (long) b * c * h * w, c, h * w, xDest, xt);
                    Transpose.channelsLast(dy.segment(), dy.offset() + (long) b * m * h * w, m, h * w, yDest, yt);
                    if (tile == 2) {
                        transformInput(xt, c, th, tw, xRow, v, t0, maxT);
                        transformGrad(yt, m, th, tw, yRow, z, t0, maxT);
                    } else {
                        transformInput4(xt, c, th, tw, xRow, v, t0, maxT, tmp);
                        transformGrad4(yt, m, th, tw, yRow, z, t0, maxT, tmp);
                    }
                }
                for (int e = 0; e < xis; e++) {
                    // dU_ξ [m × c] += Z_ξᵀ · V_ξ, both stored tile-major: rows of Z_ξ are what a GEMM would pack
                    accumulate(z, e * maxT * m, m, v, e * maxT * c, c, count, du, e * m * c);
                }
            }
            partial[t] = du;
        });
        float[] du = partial[0];
        for (int t = 1; t < tasks; t++) {
            for (int i = 0; i < du.length; i++) {
                du[i] += partial[t][i];
            }
        }
        float[] g = new float[m * c * 9];
        float[] u = new float[xis];
        for (int o = 0; o < m; o++) {
            for (int ch = 0; ch < c; ch++) {
                for (int e = 0; e < xis; e++) {
                    u[e] = du[(e * m + o) * c + ch];
                }
                if (tile == 2) {
                    filterGrad(u, g, (o * c + ch) * 9);
                } else {
                    filterGrad4(u, g, (o * c + ch) * 9);
                }
            }
        }
        MemorySegment.copy(g, 0, dw.segment(), F, dw.offset() * 4, g.length);
    }

    /**
     * {@code V = Bᵀ·d·B} for every 6×6 input tile (F(4×4, 3×3), tiles 4 apart) of the image in {@code xt}
     * (channels last, one zero row and column before, row length {@code rowLen}), written to
     * {@code v[ξ][t0 + tile][c]}. Bᵀ's rows: (4,0,-5,0,1,0), (0,-4,-4,1,1,0), (0,4,-4,-1,1,0), (0,-2,-1,2,1,0),
     * (0,2,-1,-2,1,0), (0,4,0,-5,0,1). Columns first into {@code tmp} (six vectors per column), then rows.
     */
    private static void transformInput4(float[] xt, int c, int th, int tw, int rowLen, float[] v, int t0, int maxT,
                                        float[] tmp) {
        int plane = maxT * c, rs = rowLen * c;
        for (int ti = 0; ti < th; ti++) {
            for (int tj = 0; tj < tw; tj++) {
                int tile = t0 + ti * tw + tj;
                int base = (4 * ti * rowLen + 4 * tj) * c;
                for (int k = 0; k < c; k += VL) {
                    for (int j = 0; j < 6; j++) {
                        int q = base + j * c + k;
                        bt6(FloatVector.fromArray(S, xt, q), FloatVector.fromArray(S, xt, q + rs),
                                FloatVector.fromArray(S, xt, q + 2 * rs), FloatVector.fromArray(S, xt, q + 3 * rs),
                                FloatVector.fromArray(S, xt, q + 4 * rs), FloatVector.fromArray(S, xt, q + 5 * rs),
                                tmp, j * VL, 6 * VL);
                    }
                    int o = tile * c + k;
                    for (int i = 0; i < 6; i++) {
                        int r = i * 6 * VL;
                        bt6(FloatVector.fromArray(S, tmp, r), FloatVector.fromArray(S, tmp, r + VL),
                                FloatVector.fromArray(S, tmp, r + 2 * VL), FloatVector.fromArray(S, tmp, r + 3 * VL),
                                FloatVector.fromArray(S, tmp, r + 4 * VL), FloatVector.fromArray(S, tmp, r + 5 * VL),
                                v, 6 * i * plane + o, plane);
                    }
                }
            }
        }
    }

    /** Bᵀ applied to six vectors: results to {@code out[at + i·stride]}, i = 0..5. */
    private static void bt6(FloatVector d0, FloatVector d1, FloatVector d2, FloatVector d3, FloatVector d4,
                            FloatVector d5, float[] out, int at, int stride) {
        FloatVector s34 = d3.add(d4), s12 = d1.add(d2), e43 = d4.sub(d3), e12 = d1.sub(d2);
        FloatVector e42 = d4.sub(d2), e31 = d3.sub(d1);
        d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(out, at);
        s34.sub(s12.mul(4f)).intoArray(out, at + stride);
        e43.add(e12.mul(4f)).intoArray(out, at + 2 * stride);
        e42.add(e31.mul(2f)).intoArray(out, at + 3 * stride);
        e42.sub(e31.mul(2f)).intoArray(out, at + 4 * stride);
        d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(out, at + 5 * stride);
    }

    /**
     * {@code Z = A·dY·Aᵀ} for every 4×4 tile of dY in {@code yt} (channels last, no border, zeros past the last row
     * and column), written to {@code z[ξ][t0 + tile][m]}. A's rows: (1,0,0,0), (1,1,1,1), (1,-1,1,-1), (1,2,4,8),
     * (1,-2,4,-8), (0,0,0,1). Columns first into {@code tmp}, then rows.
     */
    private static void transformGrad4(float[] yt, int m, int th, int tw, int rowLen, float[] z, int t0, int maxT,
                                       float[] tmp) {
        int plane = maxT * m, rs = rowLen * m;
        for (int ti = 0; ti < th; ti++) {
            for (int tj = 0; tj < tw; tj++) {
                int tile = t0 + ti * tw + tj;
                int base = (4 * ti * rowLen + 4 * tj) * m;
                for (int k = 0; k < m; k += VL) {
                    for (int j = 0; j < 4; j++) {
                        int q = base + j * m + k;
                        a6(FloatVector.fromArray(S, yt, q), FloatVector.fromArray(S, yt, q + rs),
                                FloatVector.fromArray(S, yt, q + 2 * rs), FloatVector.fromArray(S, yt, q + 3 * rs),
                                tmp, j * VL, 4 * VL);
                    }
                    int o = tile * m + k;
                    for (int i = 0; i < 6; i++) {
                        int r = i * 4 * VL;
                        a6(FloatVector.fromArray(S, tmp, r), FloatVector.fromArray(S, tmp, r + VL),
                                FloatVector.fromArray(S, tmp, r + 2 * VL), FloatVector.fromArray(S, tmp, r + 3 * VL),
                                z, 6 * i * plane + o, plane);
                    }
                }
            }
        }
    }

    /** A applied to four vectors: six results to {@code out[at + i·stride]}. */
    private static void a6(FloatVector y0, FloatVector y1, FloatVector y2, FloatVector y3, float[] out, int at,
                           int stride) {
        FloatVector s02 = y0.add(y2), s13 = y1.add(y3), f02 = y0.add(y2.mul(4f)), f13 = y1.mul(2f).add(y3.mul(8f));
        y0.intoArray(out, at);
        s02.add(s13).intoArray(out, at + stride);
        s02.sub(s13).intoArray(out, at + 2 * stride);
        f02.add(f13).intoArray(out, at + 3 * stride);
        f02.sub(f13).intoArray(out, at + 4 * stride);
        y3.intoArray(out, at + 5 * stride);
    }

    /**
     * {@code g = Gᵀ·u·G} (3×3 from 6×6), in double: Gᵀ's rows (1/4, -1/6, -1/6, 1/24, 1/24, 0),
     * (0, -1/6, 1/6, 1/12, -1/12, 0), (0, -1/6, -1/6, 1/6, 1/6, 1).
     */
    private static void filterGrad4(float[] u, float[] g, int off) {
        double[] r = new double[18];        // Gᵀ·u, 3×6
        for (int j = 0; j < 6; j++) {
            double u0 = u[j], u1 = u[6 + j], u2 = u[12 + j], u3 = u[18 + j], u4 = u[24 + j], u5 = u[30 + j];
            r[j] = u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24;
            r[6 + j] = (u2 - u1) / 6 + (u3 - u4) / 12;
            r[12 + j] = (u3 + u4 - u1 - u2) / 6 + u5;
        }
        for (int i = 0; i < 3; i++) {
            double a0 = r[6 * i], a1 = r[6 * i + 1], a2 = r[6 * i + 2], a3 = r[6 * i + 3], a4 = r[6 * i + 4];
            double a5 = r[6 * i + 5];
            g[off + 3 * i] = (float) (a0 / 4 - (a1 + a2) / 6 + (a3 + a4) / 24);
            g[off + 3 * i + 1] = (float) ((a2 - a1) / 6 + (a3 - a4) / 12);
            g[off + 3 * i + 2] = (float) ((a3 + a4 - a1 - a2) / 6 + a5);
        }
    }

    /**
     * {@code du[o][ch] += Σ_t z[t][o]·v[t][ch]} for {@code count} tiles: register tiles of 12 (then 8, then 4) rows
     * × two vectors of columns, the products summed in registers over all tiles, added to du once. The operands are
     * read as they lie (tile-major, so a tile's z row is a run of broadcasts and its v row two vector loads): no
     * packing.
     * The accumulators are added to du inline: handed to a helper typed {@code FloatVector} they were boxed (a
     * virtual call C2 does not intrinsify), which took more than the products.
     */
    private static void accumulate(float[] z, int zOff, int m, float[] v, int vOff, int c, int count, float[] du,
                                   int duOff) {
        for (int col = 0; col < c; col += 2 * VL) {
            int o = 0;
            for (; o + 12 <= m; o += 12) {
                rows12(z, zOff + o, m, v, vOff + col, c, count, du, duOff + o * c + col);
            }
            if (m - o >= 8) {
                rows8(z, zOff + o, m, v, vOff + col, c, count, du, duOff + o * c + col);
                o += 8;
            }
            for (; o < m; o += 4) {
                rows4(z, zOff + o, m, v, vOff + col, c, count, du, duOff + o * c + col);
            }
        }
    }

    private static void rows12(float[] z, int z0, int m, float[] v, int v0, int c, int count, float[] du, int d0) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        FloatVector a60 = a00, a61 = a00, a70 = a00, a71 = a00, a80 = a00, a81 = a00;
        FloatVector a90 = a00, a91 = a00, aa0 = a00, aa1 = a00, ab0 = a00, ab1 = a00;
        for (int t = 0; t < count; t++) {
            int vi = v0 + t * c, zi = z0 + t * m;
            FloatVector b0 = FloatVector.fromArray(S, v, vi), b1 = FloatVector.fromArray(S, v, vi + VL);
            FloatVector x = FloatVector.broadcast(S, z[zi]);
            a00 = x.fma(b0, a00);
            a01 = x.fma(b1, a01);
            x = FloatVector.broadcast(S, z[zi + 1]);
            a10 = x.fma(b0, a10);
            a11 = x.fma(b1, a11);
            x = FloatVector.broadcast(S, z[zi + 2]);
            a20 = x.fma(b0, a20);
            a21 = x.fma(b1, a21);
            x = FloatVector.broadcast(S, z[zi + 3]);
            a30 = x.fma(b0, a30);
            a31 = x.fma(b1, a31);
            x = FloatVector.broadcast(S, z[zi + 4]);
            a40 = x.fma(b0, a40);
            a41 = x.fma(b1, a41);
            x = FloatVector.broadcast(S, z[zi + 5]);
            a50 = x.fma(b0, a50);
            a51 = x.fma(b1, a51);
            x = FloatVector.broadcast(S, z[zi + 6]);
            a60 = x.fma(b0, a60);
            a61 = x.fma(b1, a61);
            x = FloatVector.broadcast(S, z[zi + 7]);
            a70 = x.fma(b0, a70);
            a71 = x.fma(b1, a71);
            x = FloatVector.broadcast(S, z[zi + 8]);
            a80 = x.fma(b0, a80);
            a81 = x.fma(b1, a81);
            x = FloatVector.broadcast(S, z[zi + 9]);
            a90 = x.fma(b0, a90);
            a91 = x.fma(b1, a91);
            x = FloatVector.broadcast(S, z[zi + 10]);
            aa0 = x.fma(b0, aa0);
            aa1 = x.fma(b1, aa1);
            x = FloatVector.broadcast(S, z[zi + 11]);
            ab0 = x.fma(b0, ab0);
            ab1 = x.fma(b1, ab1);
        }
        FloatVector.fromArray(S, du, d0).add(a00).intoArray(du, d0);
        FloatVector.fromArray(S, du, d0 + VL).add(a01).intoArray(du, d0 + VL);
        FloatVector.fromArray(S, du, d0 + c).add(a10).intoArray(du, d0 + c);
        FloatVector.fromArray(S, du, d0 + c + VL).add(a11).intoArray(du, d0 + c + VL);
        FloatVector.fromArray(S, du, d0 + 2 * c).add(a20).intoArray(du, d0 + 2 * c);
        FloatVector.fromArray(S, du, d0 + 2 * c + VL).add(a21).intoArray(du, d0 + 2 * c + VL);
        FloatVector.fromArray(S, du, d0 + 3 * c).add(a30).intoArray(du, d0 + 3 * c);
        FloatVector.fromArray(S, du, d0 + 3 * c + VL).add(a31).intoArray(du, d0 + 3 * c + VL);
        FloatVector.fromArray(S, du, d0 + 4 * c).add(a40).intoArray(du, d0 + 4 * c);
        FloatVector.fromArray(S, du, d0 + 4 * c + VL).add(a41).intoArray(du, d0 + 4 * c + VL);
        FloatVector.fromArray(S, du, d0 + 5 * c).add(a50).intoArray(du, d0 + 5 * c);
        FloatVector.fromArray(S, du, d0 + 5 * c + VL).add(a51).intoArray(du, d0 + 5 * c + VL);
        FloatVector.fromArray(S, du, d0 + 6 * c).add(a60).intoArray(du, d0 + 6 * c);
        FloatVector.fromArray(S, du, d0 + 6 * c + VL).add(a61).intoArray(du, d0 + 6 * c + VL);
        FloatVector.fromArray(S, du, d0 + 7 * c).add(a70).intoArray(du, d0 + 7 * c);
        FloatVector.fromArray(S, du, d0 + 7 * c + VL).add(a71).intoArray(du, d0 + 7 * c + VL);
        FloatVector.fromArray(S, du, d0 + 8 * c).add(a80).intoArray(du, d0 + 8 * c);
        FloatVector.fromArray(S, du, d0 + 8 * c + VL).add(a81).intoArray(du, d0 + 8 * c + VL);
        FloatVector.fromArray(S, du, d0 + 9 * c).add(a90).intoArray(du, d0 + 9 * c);
        FloatVector.fromArray(S, du, d0 + 9 * c + VL).add(a91).intoArray(du, d0 + 9 * c + VL);
        FloatVector.fromArray(S, du, d0 + 10 * c).add(aa0).intoArray(du, d0 + 10 * c);
        FloatVector.fromArray(S, du, d0 + 10 * c + VL).add(aa1).intoArray(du, d0 + 10 * c + VL);
        FloatVector.fromArray(S, du, d0 + 11 * c).add(ab0).intoArray(du, d0 + 11 * c);
        FloatVector.fromArray(S, du, d0 + 11 * c + VL).add(ab1).intoArray(du, d0 + 11 * c + VL);
    }

    private static void rows8(float[] z, int z0, int m, float[] v, int v0, int c, int count, float[] du, int d0) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        FloatVector a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        FloatVector a60 = a00, a61 = a00, a70 = a00, a71 = a00;
        for (int t = 0; t < count; t++) {
            int vi = v0 + t * c, zi = z0 + t * m;
            FloatVector b0 = FloatVector.fromArray(S, v, vi), b1 = FloatVector.fromArray(S, v, vi + VL);
            FloatVector x = FloatVector.broadcast(S, z[zi]);
            a00 = x.fma(b0, a00);
            a01 = x.fma(b1, a01);
            x = FloatVector.broadcast(S, z[zi + 1]);
            a10 = x.fma(b0, a10);
            a11 = x.fma(b1, a11);
            x = FloatVector.broadcast(S, z[zi + 2]);
            a20 = x.fma(b0, a20);
            a21 = x.fma(b1, a21);
            x = FloatVector.broadcast(S, z[zi + 3]);
            a30 = x.fma(b0, a30);
            a31 = x.fma(b1, a31);
            x = FloatVector.broadcast(S, z[zi + 4]);
            a40 = x.fma(b0, a40);
            a41 = x.fma(b1, a41);
            x = FloatVector.broadcast(S, z[zi + 5]);
            a50 = x.fma(b0, a50);
            a51 = x.fma(b1, a51);
            x = FloatVector.broadcast(S, z[zi + 6]);
            a60 = x.fma(b0, a60);
            a61 = x.fma(b1, a61);
            x = FloatVector.broadcast(S, z[zi + 7]);
            a70 = x.fma(b0, a70);
            a71 = x.fma(b1, a71);
        }
        FloatVector.fromArray(S, du, d0).add(a00).intoArray(du, d0);
        FloatVector.fromArray(S, du, d0 + VL).add(a01).intoArray(du, d0 + VL);
        FloatVector.fromArray(S, du, d0 + c).add(a10).intoArray(du, d0 + c);
        FloatVector.fromArray(S, du, d0 + c + VL).add(a11).intoArray(du, d0 + c + VL);
        FloatVector.fromArray(S, du, d0 + 2 * c).add(a20).intoArray(du, d0 + 2 * c);
        FloatVector.fromArray(S, du, d0 + 2 * c + VL).add(a21).intoArray(du, d0 + 2 * c + VL);
        FloatVector.fromArray(S, du, d0 + 3 * c).add(a30).intoArray(du, d0 + 3 * c);
        FloatVector.fromArray(S, du, d0 + 3 * c + VL).add(a31).intoArray(du, d0 + 3 * c + VL);
        FloatVector.fromArray(S, du, d0 + 4 * c).add(a40).intoArray(du, d0 + 4 * c);
        FloatVector.fromArray(S, du, d0 + 4 * c + VL).add(a41).intoArray(du, d0 + 4 * c + VL);
        FloatVector.fromArray(S, du, d0 + 5 * c).add(a50).intoArray(du, d0 + 5 * c);
        FloatVector.fromArray(S, du, d0 + 5 * c + VL).add(a51).intoArray(du, d0 + 5 * c + VL);
        FloatVector.fromArray(S, du, d0 + 6 * c).add(a60).intoArray(du, d0 + 6 * c);
        FloatVector.fromArray(S, du, d0 + 6 * c + VL).add(a61).intoArray(du, d0 + 6 * c + VL);
        FloatVector.fromArray(S, du, d0 + 7 * c).add(a70).intoArray(du, d0 + 7 * c);
        FloatVector.fromArray(S, du, d0 + 7 * c + VL).add(a71).intoArray(du, d0 + 7 * c + VL);
    }

    private static void rows4(float[] z, int z0, int m, float[] v, int v0, int c, int count, float[] du, int d0) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int t = 0; t < count; t++) {
            int vi = v0 + t * c, zi = z0 + t * m;
            FloatVector b0 = FloatVector.fromArray(S, v, vi), b1 = FloatVector.fromArray(S, v, vi + VL);
            FloatVector x = FloatVector.broadcast(S, z[zi]);
            a00 = x.fma(b0, a00);
            a01 = x.fma(b1, a01);
            x = FloatVector.broadcast(S, z[zi + 1]);
            a10 = x.fma(b0, a10);
            a11 = x.fma(b1, a11);
            x = FloatVector.broadcast(S, z[zi + 2]);
            a20 = x.fma(b0, a20);
            a21 = x.fma(b1, a21);
            x = FloatVector.broadcast(S, z[zi + 3]);
            a30 = x.fma(b0, a30);
            a31 = x.fma(b1, a31);
        }
        FloatVector.fromArray(S, du, d0).add(a00).intoArray(du, d0);
        FloatVector.fromArray(S, du, d0 + VL).add(a01).intoArray(du, d0 + VL);
        FloatVector.fromArray(S, du, d0 + c).add(a10).intoArray(du, d0 + c);
        FloatVector.fromArray(S, du, d0 + c + VL).add(a11).intoArray(du, d0 + c + VL);
        FloatVector.fromArray(S, du, d0 + 2 * c).add(a20).intoArray(du, d0 + 2 * c);
        FloatVector.fromArray(S, du, d0 + 2 * c + VL).add(a21).intoArray(du, d0 + 2 * c + VL);
        FloatVector.fromArray(S, du, d0 + 3 * c).add(a30).intoArray(du, d0 + 3 * c);
        FloatVector.fromArray(S, du, d0 + 3 * c + VL).add(a31).intoArray(du, d0 + 3 * c + VL);
    }

    /**
     * Where each position of an {@code h × w} plane goes in a channels-last copy with a zero frame of {@code border}
     * before the first row and column and rows of {@code rowLen} positions: the index of its first channel.
     */
    private static int[] destinations(int h, int w, int border, int rowLen, int ch) {
        int[] dest = new int[h * w];
        for (int r = 0; r < h; r++) {
            for (int col = 0; col < w; col++) {
                dest[r * w + col] = ((r + border) * rowLen + col + border) * ch;
            }
        }
        return dest;
    }

    /**
     * {@code V = Bᵀ·d·B} for every tile of the image in {@code xt} (channels last, one zero row and column before,
     * row length {@code rowLen}), written to {@code v[ξ][t0 + tile][c]}. Bᵀ's rows: (1,0,-1,0), (0,1,1,0),
     * (0,-1,1,0), (0,1,0,-1).
     */
    private static void transformInput(float[] xt, int c, int th, int tw, int rowLen, float[] v, int t0, int maxT) {
        long plane = (long) maxT * c;
        for (int ti = 0; ti < th; ti++) {
            for (int tj = 0; tj < tw; tj++) {
                int tile = t0 + ti * tw + tj;
                int base = (2 * ti * rowLen + 2 * tj) * c;
                for (int k = 0; k < c; k += VL) {
                    int p = base + k;
                    int r1 = p + rowLen * c, r2 = r1 + rowLen * c, r3 = r2 + rowLen * c;
                    // rows first: s_i = (Bᵀ·d) row i, four columns each
                    FloatVector a0 = FloatVector.fromArray(S, xt, p), a1 = FloatVector.fromArray(S, xt, p + c);
                    FloatVector a2 = FloatVector.fromArray(S, xt, p + 2 * c);
                    FloatVector a3 = FloatVector.fromArray(S, xt, p + 3 * c);
                    FloatVector c0 = FloatVector.fromArray(S, xt, r2), c1 = FloatVector.fromArray(S, xt, r2 + c);
                    FloatVector c2 = FloatVector.fromArray(S, xt, r2 + 2 * c);
                    FloatVector c3 = FloatVector.fromArray(S, xt, r2 + 3 * c);
                    FloatVector b0 = FloatVector.fromArray(S, xt, r1), b1 = FloatVector.fromArray(S, xt, r1 + c);
                    FloatVector b2 = FloatVector.fromArray(S, xt, r1 + 2 * c);
                    FloatVector b3 = FloatVector.fromArray(S, xt, r1 + 3 * c);
                    FloatVector d0 = FloatVector.fromArray(S, xt, r3), d1 = FloatVector.fromArray(S, xt, r3 + c);
                    FloatVector d2 = FloatVector.fromArray(S, xt, r3 + 2 * c);
                    FloatVector d3 = FloatVector.fromArray(S, xt, r3 + 3 * c);
                    int o = tile * c + k;
                    columns(a0.sub(c0), a1.sub(c1), a2.sub(c2), a3.sub(c3), v, o, 0, plane);
                    columns(b0.add(c0), b1.add(c1), b2.add(c2), b3.add(c3), v, o, 4, plane);
                    columns(c0.sub(b0), c1.sub(b1), c2.sub(b2), c3.sub(b3), v, o, 8, plane);
                    columns(b0.sub(d0), b1.sub(d1), b2.sub(d2), b3.sub(d3), v, o, 12, plane);
                }
            }
        }
    }

    /** One row of {@code (Bᵀ·d)·B}: elements {@code e0 .. e0+3} of the tile. */
    private static void columns(FloatVector s0, FloatVector s1, FloatVector s2, FloatVector s3, float[] v, int o,
                                int e0, long plane) {
        s0.sub(s2).intoArray(v, (int) (e0 * plane + o));
        s1.add(s2).intoArray(v, (int) ((e0 + 1) * plane + o));
        s2.sub(s1).intoArray(v, (int) ((e0 + 2) * plane + o));
        s1.sub(s3).intoArray(v, (int) ((e0 + 3) * plane + o));
    }

    /**
     * {@code Z = A·dY·Aᵀ} for every 2×2 tile of dY in {@code yt} (channels last, no border, zeros past the last row
     * and column), written to {@code z[ξ][t0 + tile][m]}. A's rows: (1,0), (1,1), (1,-1), (0,-1).
     */
    private static void transformGrad(float[] yt, int m, int th, int tw, int rowLen, float[] z, int t0, int maxT) {
        long plane = (long) maxT * m;
        for (int ti = 0; ti < th; ti++) {
            for (int tj = 0; tj < tw; tj++) {
                int tile = t0 + ti * tw + tj;
                int p = (2 * ti * rowLen + 2 * tj) * m;
                int q = p + rowLen * m;
                for (int k = 0; k < m; k += VL) {
                    FloatVector y00 = FloatVector.fromArray(S, yt, p + k);
                    FloatVector y01 = FloatVector.fromArray(S, yt, p + m + k);
                    FloatVector y10 = FloatVector.fromArray(S, yt, q + k);
                    FloatVector y11 = FloatVector.fromArray(S, yt, q + m + k);
                    int o = tile * m + k;
                    // rows of A·dY: y0, y0 + y1, y0 - y1, -y1 (two columns each); then the same on columns
                    gradRow(y00, y01, z, o, 0, plane);
                    gradRow(y00.add(y10), y01.add(y11), z, o, 4, plane);
                    gradRow(y00.sub(y10), y01.sub(y11), z, o, 8, plane);
                    gradRow(y10.neg(), y11.neg(), z, o, 12, plane);
                }
            }
        }
    }

    private static void gradRow(FloatVector a, FloatVector b, float[] z, int o, int e0, long plane) {
        a.intoArray(z, (int) (e0 * plane + o));
        a.add(b).intoArray(z, (int) ((e0 + 1) * plane + o));
        a.sub(b).intoArray(z, (int) ((e0 + 2) * plane + o));
        b.neg().intoArray(z, (int) ((e0 + 3) * plane + o));
    }

    /** {@code g = Gᵀ·u·G} (3×3 from 4×4): Gᵀ's rows (1, ½, ½, 0), (0, ½, -½, 0), (0, ½, ½, 1). */
    private static void filterGrad(float[] u, float[] g, int off) {
        float[] r = new float[12];          // Gᵀ·u, 3×4
        for (int j = 0; j < 4; j++) {
            float u0 = u[j], u1 = u[4 + j], u2 = u[8 + j], u3 = u[12 + j];
            r[j] = u0 + 0.5f * (u1 + u2);
            r[4 + j] = 0.5f * (u1 - u2);
            r[8 + j] = 0.5f * (u1 + u2) + u3;
        }
        for (int i = 0; i < 3; i++) {
            float a0 = r[4 * i], a1 = r[4 * i + 1], a2 = r[4 * i + 2], a3 = r[4 * i + 3];
            g[off + 3 * i] = a0 + 0.5f * (a1 + a2);
            g[off + 3 * i + 1] = 0.5f * (a1 - a2);
            g[off + 3 * i + 2] = 0.5f * (a1 + a2) + a3;
        }
    }
}
