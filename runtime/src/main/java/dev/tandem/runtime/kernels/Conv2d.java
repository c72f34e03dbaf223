package dev.tandem.runtime.kernels;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 2-D convolution over NCHW float32 data with its weights prepared once: {@code out = act(conv(in, W) + bias)},
 * optionally with a residual added before the activation: {@code out = act(conv(in, W) + bias + residual)}.
 *
 * <p>Weights are {@code [outChannels, inChannels/groups, kernelH, kernelW]}. Any kernel size, stride, padding,
 * dilation and group count works. The path is chosen when the convolution is prepared:
 * <ul>
 *   <li><b>depthwise</b> (one input and one output channel per group): a direct vectorised kernel per plane;</li>
 *   <li><b>pointwise</b> (1×1, stride 1, no padding): a plain GEMM on the input, no copy;</li>
 *   <li><b>Winograd</b> (3×3, stride 1, one group, enough channels and tiles of 2×2 outputs, at most 256×256
 *       channels; float32 data; see {@link #WINOGRAD_MIN_CHANNELS}): {@link Winograd3x3}, 2.25 times fewer
 *       multiplies, chosen per run by the image size ({@link #winogradTile}); it is part of the implicit GEMM
 *       path below and falls back to it elsewhere;</li>
 *   <li><b>implicit GEMM</b> (everything else: any kernel, stride, padding, dilation): the input is copied
 *       once into a zero-padded buffer split into stride phases (space-to-depth: phase (py, px) holds the padded
 *       pixels at rows ≡ py and columns ≡ px modulo the strides). Then every im2col row — one input channel and
 *       one kernel tap — is a contiguous run of one phase plane: the output is computed on the phase grid and
 *       the columns past the output width are dropped as tiles are written. Packing GEMM panels is thus two
 *       vector copies per row, as cheap as for a plain GEMM, whatever the stride.</li>
 * </ul>
 * The weights are packed for the GEMM micro-kernel at preparation. Instances are immutable and may run on many
 * threads at once. The scalar reference is {@link dev.tandem.runtime.kernels.reference.ReferenceConv}.
 */
public final class Conv2d {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    /**
     * The depthwise kernels' vectors: the same species as every other kernel. They were 256-bit on AVX-512 machines
     * (their loads start at every column offset, and 512-bit loads that cross a cache line cost more; 1.4 times
     * faster on one layer in the third session), but two float species in one JVM share the type profiles of
     * {@code FloatVector}'s own methods ({@code fma}, {@code intoArray}, ...), and C2, meeting a profile with two
     * vector classes, sometimes kept vectors boxed: in about one process in three EfficientNet-B0 made 10–80 MB of
     * garbage per run in kernels of either width. With one species: none, and the models as fast (MobileNetV2's
     * expand + depthwise blocks 3.63–3.75 against 3.71–4.12 ms; EfficientNet-B0's 2% slower; docs/benchmarks.md).
     */
    private static final VectorSpecies<Float> DS = Simd.FLOAT;
    private static final int DVL = DS.length();
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The algorithm chosen for a convolution. */
    public enum Path { DEPTHWISE, POINTWISE, IMPLICIT_GEMM }

    private final ConvParams p;
    private final int outChannels;
    private final int inChannels;
    private final Activation act;
    private final Path path;
    private final Sgemm.PackedA[] packed;   // per group, for the GEMM paths
    private final float[][] groupBias;      // per group, may be null
    private final float[] dwWeights;        // depthwise: [channel][kh*kw]
    private final float[] bias;             // may be null
    private final DepthwiseChannels dwChannels; // depthwise: the small-plane kernel
    private volatile DepthwiseFlat.Layer flatLayer; // depthwise: DepthwiseFlat's masks for the last output size
    private final boolean winogradAllowed;     // 3×3 stride 1, one group, channels enough, not switched off
    private volatile Winograd3x3 winograd2;    // F(2×2, 3×3), built from the packed weights on first use
    private volatile Winograd3x3 winograd4;    // F(4×4, 3×3), likewise
    private final SingleChannel3x3 single;     // one input channel, 3×3 stride 1: the direct kernel, or null
    private final StemConv3x3s2 stem;          // 1–4 input channels, 3×3 stride 2: the direct kernel, or null

    private Conv2d(ConvParams p, int outChannels, int inChannels, Activation act, Path path, Sgemm.PackedA[] packed,
                   float[][] groupBias, float[] dwWeights, float[] bias) {
        this.p = p;
        this.outChannels = outChannels;
        this.inChannels = inChannels;
        this.act = act;
        this.path = path;
        this.packed = packed;
        this.groupBias = groupBias;
        this.dwWeights = dwWeights;
        this.bias = bias;
        this.dwChannels = path == Path.DEPTHWISE ? new DepthwiseChannels(p, outChannels, dwWeights, bias, act) : null;
        this.winogradAllowed = path == Path.IMPLICIT_GEMM && winogradAllowed(p, inChannels, outChannels);
        this.single = path == Path.IMPLICIT_GEMM && SingleChannel3x3.supports(p, inChannels)
                ? new SingleChannel3x3(p, outChannels, unpacked(packed[0], outChannels, 9), bias, act) : null;
        this.stem = path == Path.IMPLICIT_GEMM && StemConv3x3s2.supports(p, inChannels)
                ? new StemConv3x3s2(p, inChannels, outChannels, unpacked(packed[0], outChannels, 9 * inChannels), bias,
                        act) : null;
    }

    /** A small weight matrix [rows][cols] back from its packed form (for the direct kernels). */
    private static float[] unpacked(Sgemm.PackedA a, int rows, int cols) {
        float[] w = new float[rows * cols];
        for (int o = 0; o < rows; o++) {
            for (int t = 0; t < cols; t++) {
                w[o * cols + t] = a.get(o, t);
            }
        }
        return w;
    }

    /** A convolution that only runs by Winograd: no direct-path weights ({@link #prepareFor}). */
    private Conv2d(ConvParams p, int outChannels, int inChannels, Activation act, float[] bias, Winograd3x3 wg,
                   int tile) {
        this.p = p;
        this.outChannels = outChannels;
        this.inChannels = inChannels;
        this.act = act;
        this.path = Path.IMPLICIT_GEMM;
        this.packed = null;
        this.groupBias = null;
        this.dwWeights = null;
        this.bias = bias;
        this.dwChannels = null;
        this.winogradAllowed = true;
        this.single = null;
        this.stem = null;
        if (tile == 2) {
            this.winograd2 = wg;
        } else {
            this.winograd4 = wg;
        }
    }

    private static boolean winogradAllowed(ConvParams p, int inChannels, int outChannels) {
        return WINOGRAD && Winograd3x3.supports(p)
                && inChannels >= WINOGRAD_MIN_CHANNELS && outChannels >= WINOGRAD_MIN_CHANNELS
                && (long) inChannels * outChannels >= WINOGRAD4_MIN_HARMONIC * (long) (inChannels + outChannels);
    }

    /** Whether {@code C·K / (C + K)} is below {@link #WINOGRAD_MIN_HARMONIC}: only F(4×4) pays there. */
    private static boolean narrowHarmonic(int inChannels, int outChannels) {
        return (long) inChannels * outChannels < WINOGRAD_MIN_HARMONIC * (long) (inChannels + outChannels);
    }

    private Conv2d(Conv2d c, boolean winogradAllowed) {
        this.p = c.p;
        this.outChannels = c.outChannels;
        this.inChannels = c.inChannels;
        this.act = c.act;
        this.path = c.path;
        this.packed = c.packed;
        this.groupBias = c.groupBias;
        this.dwWeights = c.dwWeights;
        this.bias = c.bias;
        this.dwChannels = c.dwChannels;
        this.winogradAllowed = winogradAllowed && c.winogradAllowed;
        this.single = c.single;
        this.stem = c.stem;
    }

    /**
     * Whether 3×3 stride-1 convolutions may run by Winograd's F(2×2, 3×3) ({@link Winograd3x3}) where it pays
     * (system property {@code tandem.conv.winograd}, default true; false keeps every convolution direct).
     */
    static final boolean WINOGRAD = !"false".equalsIgnoreCase(System.getProperty("tandem.conv.winograd"));
    /**
     * Channel counts for Winograd: its transforms cost in proportion to C + K per tile, the products it saves to
     * C·K, so it needs at least 32 of each and {@code C·K / (C + K)} at least 20. Measured (2 threads,
     * {@code WinogradVsDirect}, time against direct convolution): 16→64 channels at 55×55 1.03–1.07; 32→32 at
     * 56×56 0.91–0.93 but at 28×28, batch 128, 1.02–1.07; 32→64 at 14×14, batch 128, 0.92; 32→128 at 27×27
     * 0.83; 64→64 at 56×56 0.67–0.77; 128→32 at 56×56 0.63–0.78 and at 28×28 0.79–0.82.
     */
    static final int WINOGRAD_MIN_CHANNELS = 32;
    static final int WINOGRAD_MIN_HARMONIC = 20;
    /**
     * The smallest {@code C·K / (C + K)} for F(4×4, 3×3) (16: 32→32 channels), which saves 4× the products where
     * F(2×2) saves 2.25× for the same transform work per output, on planes of at least
     * {@link #WINOGRAD4_NARROW_MIN_TILES} 4×4 tiles. Measured (2 threads, {@code WinogradVsDirect -Dtile=4}, time
     * against direct convolution, 2026-11-27): 32→32 at 28×28 0.79 (batch 1), 0.72 (batch 8), 0.83–1.06 (batch
     * 128, FashionNet's training step, three runs); at 56×56 0.60; 16→16 at 28×28 0.88 (left direct: below 32
     * channels). System property {@code tandem.conv.winograd4MinHarmonic}; 20 turns this off.
     */
    static final int WINOGRAD4_MIN_HARMONIC = Integer.getInteger("tandem.conv.winograd4MinHarmonic", 16);
    static final int WINOGRAD4_NARROW_MIN_TILES = 49;
    /**
     * Fewest 2×2 output tiles per image for Winograd with at least 64 output channels, and with fewer (fewer
     * tiles leave the GEMM panels of its blocks part empty: 512 channels at 7×7, 16 tiles, took 1.4× the direct
     * time; 256 at 14×14, 49 tiles, 0.73–0.86×; 128→32 at 14×14, 49 tiles, 0.92–1.11×).
     */
    static final int WINOGRAD_MIN_TILES = Integer.getInteger("tandem.conv.winogradMinTiles", 49);
    static final int WINOGRAD_MIN_TILES_NARROW = 196;
    /**
     * Most input × output channels for Winograd: its 16 transformed weight matrices (16·C·K floats, 4 MB at
     * 256×256) are read once per block of tiles and should stay in cache.
     */
    static final long WINOGRAD_MAX_WEIGHTS = Long.getLong("tandem.conv.winogradMaxWeights", 256L * 256);
    /**
     * Fewest 4×4 output tiles per image for F(4×4, 3×3) instead of F(2×2, 3×3); 0 (the default) never uses it
     * (system property {@code tandem.conv.winograd4MinTiles}, e.g. 49). Measured with 49 (2 threads, AbRuntimes):
     * ResNet-18 0.981 and ResNet-50 0.992 of F(2×2)'s time, for two to three times its rounding error (ResNet-50's
     * logits 3.8e-5 from ONNX Runtime's, relative to their largest, against 1.9e-5): not worth it by default. On
     * larger images it gains more (0.60 of direct convolution against F(2×2)'s 0.67 at 64 channels, 56×56).
     */
    static final int WINOGRAD4_MIN_TILES = Integer.getInteger("tandem.conv.winograd4MinTiles", 0);

    /** This convolution with the Winograd path switched off (for measurements and tests). */
    public Conv2d forceDirect() {
        if (packed == null) {
            throw new IllegalStateException("This convolution was prepared for Winograd only (prepareFor); it has no "
                    + "direct-path weights");
        }
        return new Conv2d(this, false);
    }

    /** Whether this convolution holds only Winograd's transformed weights ({@link #prepareFor}). */
    public boolean winogradOnly() {
        return packed == null && path == Path.IMPLICIT_GEMM;
    }

    /** Whether a run on h×w images takes the Winograd path (float32 data only). */
    public boolean usesWinograd(int h, int w) {
        return winogradTile(h, w) != 0;
    }

    /** The Winograd output tile side a run on h×w images takes: 0 (direct convolution), 2 or 4. */
    public int winogradTile(int h, int w) {
        if (packed == null) {
            return winograd2 != null ? 2 : 4;
        }
        return winogradAllowed ? winogradTile(p, inChannels, outChannels, h, w) : 0;
    }

    private static int winogradTile(ConvParams p, int inChannels, int outChannels, int h, int w) {
        int oh = p.outH(h), ow = p.outW(w);
        long tiles2 = (long) ((oh + 1) / 2) * ((ow + 1) / 2);
        long minTiles = outChannels >= 64 ? WINOGRAD_MIN_TILES
                : Math.max(WINOGRAD_MIN_TILES, WINOGRAD_MIN_TILES_NARROW);
        if (tiles2 < minTiles || (long) inChannels * outChannels > WINOGRAD_MAX_WEIGHTS) {
            return 0;
        }
        long tiles4 = (long) ((oh + 3) / 4) * ((ow + 3) / 4);
        if (narrowHarmonic(inChannels, outChannels)) {
            return tiles4 >= WINOGRAD4_NARROW_MIN_TILES ? 4 : 0;
        }
        return WINOGRAD4_MIN_TILES > 0 && tiles4 >= WINOGRAD4_MIN_TILES ? 4 : 2;
    }

    private Winograd3x3 winograd(int tile) {
        Winograd3x3 wg = tile == 2 ? winograd2 : winograd4;
        if (wg == null) {
            synchronized (this) {
                wg = tile == 2 ? winograd2 : winograd4;
                if (wg == null) {
                    wg = Winograd3x3.prepare(p, inChannels, packed[0], bias, act, tile);
                    if (tile == 2) {
                        winograd2 = wg;
                    } else {
                        winograd4 = wg;
                    }
                }
            }
        }
        return wg;
    }

    /**
     * Prepares a convolution.
     *
     * @param weights float32 {@code [outChannels, inChannels/groups, kernelH, kernelW]}, any strides
     * @param bias    {@code outChannels} values, or null
     * @param act     the activation applied to the output (fused)
     * @throws IllegalArgumentException when the weight shape, channels and groups disagree
     */
    public static Conv2d prepare(ConvParams p, int inChannels, Tensor weights, float[] bias, Activation act) {
        if (weights.dtype() != DType.FLOAT32 || weights.rank() != 4) {
            throw new IllegalArgumentException("Conv weights must be float32 [out, in/groups, kH, kW], got "
                    + weights);
        }
        int cout = weights.shape().dim(0);
        int cpg = weights.shape().dim(1);
        int g = p.groups();
        if (weights.shape().dim(2) != p.kernelH() || weights.shape().dim(3) != p.kernelW()) {
            throw new IllegalArgumentException("Conv weights " + weights.shape() + " do not match kernel "
                    + p.kernelH() + "×" + p.kernelW());
        }
        if (inChannels % g != 0 || cout % g != 0 || cpg != inChannels / g) {
            throw new IllegalArgumentException("Conv with " + inChannels + " input channels, " + cout
                    + " output channels and " + g + " groups needs weights [" + cout + ", " + inChannels / Math.max(1, g)
                    + ", kH, kW]; got " + weights.shape());
        }
        if (bias != null && bias.length != cout) {
            throw new IllegalArgumentException("Conv bias has " + bias.length + " values for " + cout
                    + " output channels");
        }
        try (Tensor w = weights.contiguous() == weights ? null : weights.contiguous()) {
            Tensor src = w == null ? weights : w;
            MemorySegment ws = src.segment();
            long wo = src.offset();
            int taps = p.kernelH() * p.kernelW();
            int opg = cout / g;
            float[] b = bias == null ? null : bias.clone();
            if (cpg == 1 && opg == 1) {
                float[] dw = new float[cout * taps];
                MemorySegment.copy(ws, FL, wo * 4, dw, 0, dw.length);
                return new Conv2d(p, cout, inChannels, act, Path.DEPTHWISE, null, null, dw, b);
            }
            int k = cpg * taps;
            Sgemm.PackedA[] packs = new Sgemm.PackedA[g];
            float[][] gb = new float[g][];
            for (int gi = 0; gi < g; gi++) {
                packs[gi] = Sgemm.packA(false, opg, k, ws, wo + (long) gi * opg * k, k);
                gb[gi] = b == null ? null : java.util.Arrays.copyOfRange(b, gi * opg, (gi + 1) * opg);
            }
            boolean unitStride = p.strideH() == 1 && p.strideW() == 1;
            boolean noPad = p.padTop() == 0 && p.padLeft() == 0 && p.padBottom() == 0 && p.padRight() == 0;
            Path path = taps == 1 && unitStride && noPad ? Path.POINTWISE : Path.IMPLICIT_GEMM;
            return new Conv2d(p, cout, inChannels, act, path, packs, gb, null, b);
        }
    }

    /**
     * As {@link #prepare}, for a convolution planned for h×w images: where those take the Winograd path
     * ({@link #winogradTile}), only Winograd's transformed weights are built, straight from {@code weights}, and the
     * direct path's packed copy is never made (it would hold the weights a second time, 9/16 the size). Such a
     * convolution runs every image size by Winograd, which is correct for all of them but slower than the direct
     * path on small ones (fewer than 7×7 tiles of 2×2 outputs). Elsewhere this is {@link #prepare}.
     */
    public static Conv2d prepareFor(ConvParams p, int inChannels, Tensor weights, float[] bias, Activation act,
                                    int h, int w) {
        int cout = weights.rank() == 4 ? weights.shape().dim(0) : -1;
        int tile = weights.dtype() == DType.FLOAT32 && weights.rank() == 4 && weights.shape().dim(1) == inChannels
                && winogradAllowed(p, inChannels, cout) ? winogradTile(p, inChannels, cout, h, w) : 0;
        if (tile == 0) {
            return prepare(p, inChannels, weights, bias, act);
        }
        if (bias != null && bias.length != cout) {
            throw new IllegalArgumentException("Conv bias has " + bias.length + " values for " + cout
                    + " output channels");
        }
        float[] b = bias == null ? null : bias.clone();
        return new Conv2d(p, cout, inChannels, act, b, Winograd3x3.prepare(p, inChannels, weights, b, act, tile),
                tile);
    }

    /**
     * Bytes of memory this convolution's prepared weights hold: packed for the GEMM, laid out for the depthwise
     * kernels, transformed for Winograd (once built), and the bias.
     */
    public long weightBytes() {
        long b = bias == null ? 0 : 4L * bias.length;
        if (packed != null) {
            for (Sgemm.PackedA a : packed) {
                b += a.byteSize();
            }
        }
        if (dwWeights != null) {
            b += 4L * dwWeights.length + (dwChannels == null ? 0 : dwChannels.weightBytes());
        }
        Winograd3x3 w2 = winograd2, w4 = winograd4;
        b += single == null ? 0 : single.weightBytes();
        b += stem == null ? 0 : stem.weightBytes();
        return b + (w2 == null ? 0 : w2.weightBytes()) + (w4 == null ? 0 : w4.weightBytes());
    }

    /** Whether float runs take {@link SingleChannel3x3} (one input channel, 3×3 stride 1). */
    boolean singleChannel() {
        return single != null;
    }

    /** Whether float runs take {@link StemConv3x3s2} (1 to 4 input channels, 3×3 stride 2). */
    boolean stem() {
        return stem != null;
    }

    /** The geometry. */
    public ConvParams params() {
        return p;
    }

    /** The algorithm this convolution runs. */
    public Path path() {
        return path;
    }

    public int outChannels() {
        return outChannels;
    }

    public int inChannels() {
        return inChannels;
    }

    /**
     * Runs on a contiguous float32 {@code [N, inChannels, H, W]} input into a contiguous
     * {@code [N, outChannels, outH, outW]} output, on the threads of {@code gemm}'s pool.
     *
     * @throws IllegalArgumentException naming the expected shape when either shape is wrong
     */
    public void forward(Sgemm gemm, Tensor in, Tensor out) {
        checkShapes(in, out);
        forward(gemm, in.segment(), in.offset(), in.shape().dim(0), in.shape().dim(2), in.shape().dim(3),
                out.segment(), out.offset());
    }

    /**
     * Like {@link #forward(Sgemm, Tensor, Tensor)} with a residual: {@code out = act(conv(in, W) + bias + residual)}
     * — the residual is added before the activation. {@code residual} is contiguous float32 of the output's shape
     * (it may be {@code out} itself).
     *
     * @throws IllegalArgumentException naming the expected shape when a shape is wrong
     */
    public void forward(Sgemm gemm, Tensor in, Tensor residual, Tensor out) {
        if (residual.dtype() != DType.FLOAT32 || !residual.isContiguous() || !residual.shape().equals(out.shape())) {
            throw new IllegalArgumentException("Conv residual must be contiguous float32 " + out.shape() + "; got "
                    + residual);
        }
        checkShapes(in, out);
        forward(gemm, in.segment(), in.offset(), in.shape().dim(0), in.shape().dim(2), in.shape().dim(3),
                residual.segment(), residual.offset(), out.segment(), out.offset());
    }

    /** Fails unless {@code in} is contiguous float32 [N, inChannels, H, W] and {@code out} the matching output. */
    private void checkShapes(Tensor in, Tensor out) {
        if (in.dtype() != DType.FLOAT32 || in.rank() != 4 || in.shape().dim(1) != inChannels || !in.isContiguous()) {
            throw new IllegalArgumentException("Conv input must be contiguous float32 [N, " + inChannels
                    + ", H, W]; got " + in);
        }
        int n = in.shape().dim(0), oh = p.outH(in.shape().dim(2)), ow = p.outW(in.shape().dim(3));
        if (out.dtype() != DType.FLOAT32 || !out.isContiguous()
                || !out.shape().equals(dev.tandem.runtime.tensor.Shape.of(n, outChannels, oh, ow))) {
            throw new IllegalArgumentException("Conv output must be contiguous float32 [" + n + ", " + outChannels
                    + ", " + oh + ", " + ow + "]; got " + out);
        }
    }

    /**
     * Runs on raw memory with a residual {@code [n, outChannels, outH(h), outW(w)]} at element {@code resOff}
     * (contiguous; it may be the output itself): {@code out = act(conv + bias + residual)}. The residual is copied
     * into the output and the GEMM epilogue accumulates onto it (beta = 1), so the sum costs one extra pass over
     * the output and no extra buffer.
     */
    public void forward(Sgemm gemm, MemorySegment in, long inOff, int n, int h, int w, MemorySegment residual,
                        long resOff, MemorySegment out, long outOff) {
        checkBuffers(in, inOff, n, h, w, out, outOff);
        long count = (long) n * outChannels * p.outH(h) * p.outW(w);
        if (resOff < 0 || (resOff + count) * 4 > residual.byteSize()) {
            throw new IllegalArgumentException("Conv residual buffer too small: needs " + (resOff + count) * 4
                    + " bytes (has " + residual.byteSize() + ")");
        }
        if (!(residual.equals(out) && resOff == outOff)) {
            MemorySegment.copy(residual, resOff * 4, out, outOff * 4, count * 4);
        }
        run(gemm, in, inOff, null, n, h, w, out, outOff, null, 1f);
    }

    /**
     * Runs on raw memory: input {@code [n, inChannels, h, w]} at element {@code inOff}, output
     * {@code [n, outChannels, outH(h), outW(w)]} at element {@code outOff}, both contiguous.
     */
    public void forward(Sgemm gemm, MemorySegment in, long inOff, int n, int h, int w, MemorySegment out,
                        long outOff) {
        checkBuffers(in, inOff, n, h, w, out, outOff);
        run(gemm, in, inOff, null, n, h, w, out, outOff, null, 0f);
    }

    /**
     * Whether {@link #forwardPhases} computes this depthwise convolution over an h × w input: 3×3 with pads of 1 or
     * 5×5 with pads of 2, stride 2, both sizes even, an output wider than {@link #FLAT_MIN_WIDTH} (5×5:
     * {@link #FLAT5_STRIDE2_MIN_WIDTH}) columns, the flat kernels on (they are what {@link #forward} would use).
     */
    public boolean takesPhases(int h, int w) {
        return path == Path.DEPTHWISE && FLAT && (DepthwiseFlat.supportsStride2(p, h, w) && p.outW(w) > FLAT_MIN_WIDTH
                || FLAT5 && DepthwiseFlat.supports5Stride2(p, h, w) && p.outW(w) > FLAT5_STRIDE2_MIN_WIDTH);
    }

    /** Bytes a buffer of planes in phase order needs after its last plane, for {@link #forwardPhases}. */
    public static long phasesSlackBytes() {
        return 4L * DepthwiseFlat.PHASES_SLACK;
    }

    /**
     * Splits {@code planes} h × w planes (both even) at {@code in[inOff..]} into phase order at {@code out[outOff..]}
     * (offsets in floats): each plane's four (h/2) × (w/2) phase planes one after the other (even rows' even and odd
     * columns, then odd rows' even and odd columns), on the calling thread. A 1×1 convolution of planes so split
     * gives its output in the same order (it treats every position alike), which {@link #forwardPhases} takes.
     */
    public static void splitPhases(MemorySegment in, long inOff, int planes, int h, int w, MemorySegment out,
                                   long outOff) {
        long size = (long) h * w;
        if (h % 2 != 0 || w % 2 != 0 || inOff < 0 || outOff < 0 || (inOff + planes * size) * 4 > in.byteSize()
                || (outOff + planes * size) * 4 > out.byteSize()) {
            throw new IllegalArgumentException("Cannot split " + planes + " planes of " + h + "x" + w
                    + " (sizes must be even and both buffers hold them)");
        }
        for (int i = 0; i < planes; i++) {
            DepthwiseFlat.splitPhases(in, inOff + i * size, h, w, out, outOff + i * size);
        }
    }

    /**
     * {@link #forward} of one image whose input planes are in phase order ({@link #splitPhases}), where
     * {@link #takesPhases} says so: float32 {@code [outChannels][h/2][w/2]} at {@code out[outOff..]} from
     * {@code [outChannels]} phase-ordered h × w planes at {@code in[inOff..]}, which must be followed by
     * {@link #phasesSlackBytes} readable bytes.
     */
    public void forwardPhases(Sgemm gemm, MemorySegment in, long inOff, int h, int w, MemorySegment out, long outOff) {
        if (!takesPhases(h, w)) {
            throw new IllegalStateException("This convolution does not take phase-ordered planes of " + h + "x" + w);
        }
        checkBuffers(in, inOff, 1, h, w, out, outOff);
        if ((inOff + (long) outChannels * h * w) * 4 + phasesSlackBytes() > in.byteSize()) {
            throw new IllegalArgumentException("Phase-ordered input needs " + phasesSlackBytes()
                    + " bytes after its last plane");
        }
        int oh = h / 2, ow = w / 2, planes = outChannels;
        boolean five = p.kernelH() == 5;
        DepthwiseFlat.Layer have = flatLayer, layer = DepthwiseFlat.Layer.of(have, oh, ow, act);
        if (layer != have) {
            flatLayer = layer;
        }
        int chunks = Math.min(planes, gemm.pool().threads() * 8);
        gemm.pool().parallelFor(chunks, t -> {
            int p0 = (int) ((long) planes * t / chunks), p1 = (int) ((long) planes * (t + 1) / chunks);
            DepthwiseFlat.Work work = DW_FLAT_WORK.get();
            for (int c = p0; c < p1; c++) {
                if (five) {
                    DepthwiseFlat.planePhases5(in, inOff + (long) c * h * w, oh, ow, out, outOff + (long) c * oh * ow,
                            dwWeights, c * 25, bias == null ? 0f : bias[c], layer, work);
                } else {
                    DepthwiseFlat.planePhases(in, inOff + (long) c * h * w, oh, ow, out, outOff + (long) c * oh * ow,
                            dwWeights, c * 9, bias == null ? 0f : bias[c], layer, work);
                }
            }
        });
    }

    /**
     * Runs on raw memory whose input, output or both hold 8-bit values: input {@code [n, inChannels, h, w]} at
     * element {@code inOff} (8-bit as {@code inFmt} says, or float32 when it is null), output {@code [n, outChannels,
     * outH(h), outW(w)]} at element {@code outOff} (8-bit requantized as {@code outQ} says, or float32 when it is
     * null), both contiguous; elements are bytes for 8-bit data. 8-bit input is converted as it is read (into the
     * buffers the paths copy their input to anyway); 8-bit output takes each channel's raw accumulators, requantized
     * as they are written, so the convolution must have no bias and no activation of its own (they are
     * {@code outQ}'s).
     *
     * @throws IllegalArgumentException when a buffer is too small, or 8-bit output is asked of a convolution with a
     *                                  bias or an activation, with another channel count, or that
     *                                  {@link #writesInt8(Sgemm)} says cannot
     */
    public void forward(Sgemm gemm, MemorySegment in, long inOff, Int8Format inFmt, int n, int h, int w,
                        MemorySegment out, long outOff, Requantization outQ) {
        checkBuffers(in, inOff, inFmt == null ? 4 : 1, n, h, w, out, outOff, outQ == null ? 4 : 1);
        if (outQ != null) {
            if (bias != null || act.kind() != Activation.Kind.NONE || outQ.channels() != outChannels) {
                throw new IllegalArgumentException("8-bit output requantizes raw accumulators: the convolution must "
                        + "have no bias and no activation, and the requantization " + outChannels + " channels; got "
                        + (bias != null ? "a bias" : act.kind() != Activation.Kind.NONE ? "activation " + act.kind()
                        : outQ.channels() + " channels"));
            }
            if (!writesInt8(gemm)) {
                throw new IllegalArgumentException("8-bit output needs a reduction of at most " + gemm.depthBlock()
                        + " terms per output on the GEMM paths; this one has " + reduction()
                        + " (write float32 and requantize)");
            }
        }
        run(gemm, in, inOff, inFmt, n, h, w, out, outOff, outQ, 0f);
    }

    /**
     * Whether {@link #forward(Sgemm, MemorySegment, long, Int8Format, int, int, int, MemorySegment, long,
     * Requantization)} can write 8-bit output: the depthwise path always; the GEMM paths when the reduction
     * ({@code inChannels/groups · kH · kW}) fits one depth block of {@code gemm} (longer ones accumulate partial sums
     * in the output).
     */
    public boolean writesInt8(Sgemm gemm) {
        return path == Path.DEPTHWISE || reduction() <= gemm.depthBlock();
    }

    private int reduction() {
        return inChannels / p.groups() * p.kernelH() * p.kernelW();
    }

    private void checkBuffers(MemorySegment in, long inOff, int n, int h, int w, MemorySegment out, long outOff) {
        checkBuffers(in, inOff, 4, n, h, w, out, outOff, 4);
    }

    private void checkBuffers(MemorySegment in, long inOff, int inBytes, int n, int h, int w, MemorySegment out,
                              long outOff, int outBytes) {
        long inNeed = (inOff + (long) n * inChannels * h * w) * inBytes;
        long outNeed = (outOff + (long) n * outChannels * p.outH(h) * p.outW(w)) * outBytes;
        if (inOff < 0 || outOff < 0 || inNeed > in.byteSize() || outNeed > out.byteSize()) {
            throw new IllegalArgumentException("Conv buffers too small: input needs " + inNeed + " bytes (has "
                    + in.byteSize() + "), output needs " + outNeed + " (has " + out.byteSize() + ")");
        }
    }

    /**
     * Runs the chosen path (buffers checked by the caller); {@code beta} is 0 (plain) or 1 (accumulate, float32
     * only). {@code inFmt}: 8-bit input or null; {@code o}: 8-bit output or null.
     */
    private void run(Sgemm gemm, MemorySegment in, long inOff, Int8Format inFmt, int n, int h, int w,
                     MemorySegment out, long outOff, Requantization o, float beta) {
        int oh = p.outH(h), ow = p.outW(w);
        switch (path) {
            case DEPTHWISE -> depthwise(gemm, in, inOff, inFmt, n, h, w, out, outOff, o, oh, ow, beta);
            case POINTWISE -> pointwise(gemm, in, inOff, inFmt, n, h, w, out, outOff, o, beta);
            case IMPLICIT_GEMM -> {
                int tile = inFmt == null && o == null ? winogradTile(h, w) : 0;
                if (tile != 0) {
                    winograd(tile).forward(gemm.pool(), in, inOff, n, h, w, out, outOff, beta != 0f);
                } else if (single != null && inFmt == null && o == null) {
                    single.forward(gemm.pool(), in, inOff, n, h, w, out, outOff, beta != 0f);
                } else if (stem != null && inFmt == null && o == null) {
                    stem.forward(gemm.pool(), in, inOff, n, h, w, out, outOff, beta != 0f);
                } else if (packed == null) {
                    throw new IllegalStateException("A convolution prepared for Winograd only cannot run 8-bit data");
                } else {
                    implicitGemm(gemm, in, inOff, inFmt, n, h, w, out, outOff, o, oh, ow, beta);
                }
            }
        }
    }

    private void pointwise(Sgemm gemm, MemorySegment in, long inOff, Int8Format inFmt, int n, int h, int w,
                           MemorySegment out, long outOff, Requantization o, float beta) {
        int g = p.groups(), cpg = inChannels / g, opg = outChannels / g, hw = h * w;
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < g; gi++) {
                long io = inOff + ((long) b * inChannels + (long) gi * cpg) * hw;
                long oo = outOff + ((long) b * outChannels + (long) gi * opg) * hw;
                if (inFmt == null && o == null) {
                    gemm.gemm(packed[gi], false, hw, 1f, in, io, hw, beta, out, oo, hw, groupBias[gi], act);
                    continue;
                }
                Sgemm.BPacker bp = new Sgemm.MatrixB(false, in, io, hw, inFmt);
                Sgemm.CWriter cw = new Sgemm.MatrixC(out, oo, hw, o, gi * opg);
                gemm.gemm(packed[gi], bp, hw, beta, cw, groupBias[gi], act);
            }
        }
    }

    private void implicitGemm(Sgemm gemm, MemorySegment in, long inOff, Int8Format inFmt, int n, int h, int w,
                              MemorySegment out, long outOff, Requantization o, int oh, int ow, float beta) {
        int g = p.groups(), cpg = inChannels / g, opg = outChannels / g;
        Phases ph = new Phases(p, h, w);
        int gridCols = (oh - 1) * ph.wph + ow;
        int bufSize = Math.addExact(Math.multiplyExact(cpg, ph.channelSize), ph.slack);
        if (g == 1 && n >= 2 * gemm.pool().threads() && gemm.pool().threads() > 1) {
            // A batch: one image per task, each on one thread from filling to output (no hand-off inside an
            // image: with small images the per-image GEMMs were too short to split well). Same arithmetic per
            // output element as the split GEMM.
            gemm.pool().parallelFor(n, b -> {
                float[] own = gemm.workspace(bufSize);
                long io = inOff + (long) b * inChannels * h * w;
                fillPhases(null, in, io, inFmt, cpg, h, w, ph, own);
                long oo = outOff + (long) b * outChannels * oh * ow;
                gemm.gemmSerial(packed[0], new GridB(own, ph.channelSize, ph.tapOff), gridCols, beta,
                        new GridC(out, oo, (long) oh * ow, ph.wph, ow, o, 0), groupBias[0], act);
            });
            return;
        }
        float[] buf = gemm.workspace(bufSize);
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < g; gi++) {
                long io = inOff + ((long) b * inChannels + (long) gi * cpg) * h * w;
                fillPhases(gemm, in, io, inFmt, cpg, h, w, ph, buf);
                long oo = outOff + ((long) b * outChannels + (long) gi * opg) * oh * ow;
                gemm.gemm(packed[gi], new GridB(buf, ph.channelSize, ph.tapOff), gridCols, beta,
                        new GridC(out, oo, (long) oh * ow, ph.wph, ow, o, gi * opg), groupBias[gi], act);
            }
        }
    }

    /**
     * Layout of the zero-padded, phase-split input of one channel: the phases the kernel taps touch, each an
     * hph×wph plane; {@code tapOff[t]} is where tap t's im2col row starts relative to a grid column.
     */
    private static final class Phases {
        final int sh;
        final int sw;
        final int hph;
        final int wph;
        final int[] slot;      // phase index (py·sw + px) → plane slot, or -1 when no tap reads that phase
        final int channelSize; // floats per channel
        final int[] tapOff;
        final int slack;       // floats after the last channel that panel packing may read past valid columns
        final boolean[] rowUsed; // by padded row modulo the row stride: does any tap read such rows?
        final boolean needsZeroFill; // false when the input covers every cell of the used phases (no padding)

        Phases(ConvParams p, int h, int w) {
            sh = p.strideH();
            sw = p.strideW();
            int hp = h + p.padTop() + p.padBottom(), wp = w + p.padLeft() + p.padRight();
            hph = (hp + sh - 1) / sh;
            wph = (wp + sw - 1) / sw;
            slot = new int[sh * sw];
            java.util.Arrays.fill(slot, -1);
            int used = 0;
            int taps = p.kernelH() * p.kernelW();
            int[] phaseOf = new int[taps];
            for (int ky = 0; ky < p.kernelH(); ky++) {
                for (int kx = 0; kx < p.kernelW(); kx++) {
                    int y = ky * p.dilationH(), x = kx * p.dilationW();
                    int phase = (y % sh) * sw + x % sw;
                    if (slot[phase] < 0) {
                        slot[phase] = used++;
                    }
                    phaseOf[ky * p.kernelW() + kx] = phase;
                }
            }
            int plane = hph * wph;
            channelSize = Math.multiplyExact(used, plane);
            tapOff = new int[taps];
            for (int ky = 0; ky < p.kernelH(); ky++) {
                for (int kx = 0; kx < p.kernelW(); kx++) {
                    int t = ky * p.kernelW() + kx;
                    int qy = ky * p.dilationH() / sh, qx = kx * p.dilationW() / sw;
                    tapOff[t] = slot[phaseOf[t]] * plane + qy * wph + qx;
                }
            }
            slack = Sgemm.NR + wph;
            rowUsed = new boolean[sh];
            for (int phase = 0; phase < slot.length; phase++) {
                if (slot[phase] >= 0) {
                    rowUsed[phase / sw] = true;
                }
            }
            needsZeroFill = p.padTop() + p.padLeft() + p.padBottom() + p.padRight() > 0 || h % sh != 0
                    || w % sw != 0;
        }
    }

    /**
     * Copies {@code channels} input planes into {@code buf} in the {@link Phases} layout, zeros elsewhere; on the
     * pool's threads, or on the calling thread alone when {@code gemm} is null.
     */
    private void fillPhases(Sgemm gemm, MemorySegment in, long io, Int8Format inFmt, int channels, int h, int w,
                            Phases ph, float[] buf) {
        int pt = p.padTop(), pl = p.padLeft(), sh = ph.sh, sw = ph.sw, wph = ph.wph;
        int plane = ph.hph * wph;
        int size = channels * ph.channelSize;
        java.util.Arrays.fill(buf, size, size + ph.slack, 0f);
        int chunks = gemm == null ? 1 : Math.min(channels, gemm.pool().threads() * 4);
        java.util.function.IntConsumer task = t -> {
            int c0 = (int) ((long) channels * t / chunks), c1 = (int) ((long) channels * (t + 1) / chunks);
            float[] row = sw == 1 ? null : new float[Sgemm.roundUp(w, 2 * VL)];
            float[] evens = sw == 2 ? new float[row.length / 2] : null;
            float[] odds = sw == 2 ? new float[row.length / 2] : null;
            if (ph.needsZeroFill) {
                java.util.Arrays.fill(buf, c0 * ph.channelSize, c1 * ph.channelSize, 0f);
            }
            for (int c = c0; c < c1; c++) {
                int base = c * ph.channelSize;
                for (int y = 0; y < h; y++) {
                    int yp = y + pt;
                    long src = io + (long) c * h * w + (long) y * w;
                    int rowBase = base + (yp / sh) * wph;
                    if (sw == 1) {
                        int s = ph.slot[(yp % sh) * sw];
                        if (s >= 0) {
                            Int8Io.read(in, src, inFmt, buf, rowBase + s * plane + pl, w);
                        }
                        continue;
                    }
                    if (!ph.rowUsed[yp % sh]) {
                        continue;
                    }
                    Int8Io.read(in, src, inFmt, row, 0, w);
                    if (sw == 2) {
                        // even and odd columns split by vector permutes, then one bulk copy per phase
                        Simd.splitEvenOdd(row, row.length, evens, odds);
                        for (int px = 0; px < 2; px++) {
                            int s = ph.slot[(yp % sh) * 2 + px];
                            if (s < 0) {
                                continue;
                            }
                            int x0 = ((px - pl) % 2 + 2) % 2;
                            System.arraycopy(x0 == 0 ? evens : odds, 0, buf, rowBase + s * plane + (x0 + pl) / 2,
                                    (w - x0 + 1) / 2);
                        }
                        continue;
                    }
                    // one strided pass per column phase: no division per element (that cost more than the copy)
                    for (int px = 0; px < sw; px++) {
                        int s = ph.slot[(yp % sh) * sw + px];
                        if (s < 0) {
                            continue;
                        }
                        int x0 = ((px - pl) % sw + sw) % sw;
                        int d = rowBase + s * plane + (x0 + pl) / sw;
                        for (int x = x0; x < w; x += sw) {
                            buf[d++] = row[x];
                        }
                    }
                }
            }
        };
        if (gemm == null) {
            task.accept(0);
        } else {
            gemm.pool().parallelFor(chunks, task);
        }
    }

    /** B panels read from the phase buffer: row k = (channel, tap) is a phase plane shifted by the tap. */
    private static final class GridB implements Sgemm.BPacker {
        private final float[] buf;
        private final int channelSize;
        private final int[] tapOff;

        GridB(float[] buf, int channelSize, int[] tapOff) {
            this.buf = buf;
            this.channelSize = channelSize;
            this.tapOff = tapOff;
        }

        @Override
        public void pack(int p0, int kc, int j0, int nc, float[] dst, int dstOff) {
            int nr = Sgemm.NR, taps = tapOff.length;
            for (int q = 0; q * nr < nc; q++) {
                int base = dstOff + q * nr * kc;
                int j = j0 + q * nr;
                int ci = p0 / taps, t = p0 % taps;
                for (int k = 0; k < kc; k++) {
                    int src = ci * channelSize + tapOff[t] + j;
                    int d = base + k * nr;
                    FloatVector.fromArray(S, buf, src).intoArray(dst, d);
                    FloatVector.fromArray(S, buf, src + VL).intoArray(dst, d + VL);
                    if (++t == taps) {
                        t = 0;
                        ci++;
                    }
                }
            }
        }
    }

    /** Writes padded-grid columns to the output, dropping the columns that fall in the padding. */
    private static final class GridC implements Sgemm.StagedCWriter {
        private final MemorySegment seg;
        private final long off;
        private final long ld;
        private final int wp;
        private final int ow;
        private final Requantization o;
        private final int channel0;

        /** {@code o}: 8-bit output (tile row i is output channel {@code channel0 + i}), or null for float32. */
        GridC(MemorySegment seg, long off, long ld, int wp, int ow, Requantization o, int channel0) {
            this.seg = seg;
            this.off = off;
            this.ld = ld;
            this.wp = wp;
            this.ow = ow;
            this.o = o;
            this.channel0 = channel0;
        }

        @Override
        public void write(float[] tile, int row, int mr, int col, int nr, float alpha, float beta, float[] bias,
                          Activation act) {
            int j = 0;
            while (j < nr) {
                int gcol = col + j;
                int oy = gcol / wp, ox = gcol - oy * wp;
                int run = Math.min(nr - j, wp - ox);
                int valid = Math.min(run, ow - ox);
                if (valid > 0 && o != null) {
                    Int8Io.checkPlain(alpha, beta);
                    for (int r = 0; r < mr; r++) {
                        o.write(tile, r * Sgemm.NR + j, channel0 + row + r, seg,
                                off + (row + r) * ld + (long) oy * ow + ox, valid);
                    }
                } else if (valid > 0) {
                    for (int r = 0; r < mr; r++) {
                        Sgemm.writeRun(tile, r * Sgemm.NR + j, valid, alpha, beta,
                                bias == null ? 0f : bias[row + r], bias != null, act, seg,
                                off + (row + r) * ld + (long) oy * ow + ox);
                    }
                }
                j += run;
            }
        }

        @Override
        public void scaleOnly(int m, int n, float beta, float[] bias, Activation act) {
            throw new IllegalStateException("a convolution always has a non-empty product");
        }

        /**
         * Float output, plain or onto a residual the output holds (then the activation must be a clamp); 8-bit
         * output (raw accumulators, requantized as each run is flushed).
         */
        @Override
        public boolean stages(float beta, Activation act) {
            return o == null ? beta == 0f || beta == 1f && act.isClamp() : beta == 0f;
        }

        @Override
        public void flush(float[] stage, int sld, int r0, int r1, int c0, int c1, boolean addOld, Activation act) {
            FloatVector lo = FloatVector.broadcast(S, act.clampLow()), hi = FloatVector.broadcast(S, act.clampHigh());
            float lof = act.clampLow(), hif = act.clampHigh();
            for (int r = r0; r < r1; r++) {
                int srow = (r - r0) * sld - c0;
                long orow = off + r * ld;
                int gcol = c0;
                while (gcol < c1) {
                    int oy = gcol / wp, ox = gcol - oy * wp;
                    int run = Math.min(c1 - gcol, wp - ox);
                    int valid = Math.min(run, ow - ox);
                    if (valid > 0) {
                        long dst = orow + (long) oy * ow + ox;
                        int src = srow + gcol;
                        if (o != null) {
                            o.write(stage, src, channel0 + r, seg, dst, valid);
                        } else if (!addOld) {
                            MemorySegment.copy(stage, src, seg, FL, dst * 4, valid);
                        } else {
                            int x = 0;
                            for (; x + VL <= valid; x += VL) {
                                FloatVector v = FloatVector.fromArray(S, stage, src + x)
                                        .add(FloatVector.fromMemorySegment(S, seg, (dst + x) * 4, LE));
                                v = v.blend(lo, v.compare(VectorOperators.LT, lo));   // Simd.clamp, written out
                                v = v.blend(hi, v.compare(VectorOperators.GT, hi));
                                v.intoMemorySegment(seg, (dst + x) * 4, LE);
                            }
                            for (; x < valid; x++) {
                                float v = stage[src + x] + seg.getAtIndex(FL, dst + x);
                                seg.setAtIndex(FL, dst + x, Math.min(Math.max(v, lof), hif));
                            }
                        }
                    }
                    gcol += run;
                }
            }
        }
    }

    private void depthwise(Sgemm gemm, MemorySegment in, long inOff, Int8Format inFmt, int n, int h, int w,
                           MemorySegment out, long outOff, Requantization o, int oh, int ow, float beta) {
        int planes = n * outChannels;
        int chunks = Math.min(planes, gemm.pool().threads() * 8);
        boolean fast = p.dilationH() == 1 && p.dilationW() == 1 && p.strideW() <= 2;
        boolean flat1 = DepthwiseFlat.supports(p), flat2 = DepthwiseFlat.supportsStride2(p, h, w);
        boolean flat5 = FLAT5 && DepthwiseFlat.supports5(p) && ow > FLAT5_MIN_WIDTH;
        boolean flat52 = FLAT5 && DepthwiseFlat.supports5Stride2(p, h, w) && ow > FLAT5_STRIDE2_MIN_WIDTH;
        if (beta == 0f && inFmt == null && o == null && FLAT
                && (ow > FLAT_MIN_WIDTH && (flat1 || flat2) || flat5 || flat52)) {
            DepthwiseFlat.Layer have = flatLayer, layer = DepthwiseFlat.Layer.of(have, oh, ow, act);
            if (layer != have) {
                flatLayer = layer;
            }
            gemm.pool().parallelFor(chunks, t -> {
                int p0 = (int) ((long) planes * t / chunks), p1 = (int) ((long) planes * (t + 1) / chunks);
                DepthwiseFlat.Work work = DW_FLAT_WORK.get();
                for (int pi = p0; pi < p1; pi++) {
                    int c = pi % outChannels;
                    float b = bias == null ? 0f : bias[c];
                    if (flat1) {
                        DepthwiseFlat.plane(in, inOff + (long) pi * h * w, h, w, out, outOff + (long) pi * oh * ow,
                                dwWeights, c * 9, b, layer, work);
                    } else if (flat5) {
                        DepthwiseFlat.plane5(in, inOff + (long) pi * h * w, h, w, out, outOff + (long) pi * oh * ow,
                                dwWeights, c * 25, b, layer, work);
                    } else if (flat52) {
                        DepthwiseFlat.plane5Stride2(in, inOff + (long) pi * h * w, h, w, out,
                                outOff + (long) pi * oh * ow, dwWeights, c * 25, b, layer, work);
                    } else {
                        DepthwiseFlat.planeStride2(in, inOff + (long) pi * h * w, h, w, out,
                                outOff + (long) pi * oh * ow, dwWeights, c * 9, b, layer, work);
                    }
                }
            });
            return;
        }
        if (beta == 0f && ow <= CHANNELS_MAX_WIDTH) {
            int blocks = dwChannels.blocks();
            gemm.pool().parallelFor(n * blocks, t -> {
                int b = t / blocks;
                dwChannels.block(in, inOff + (long) b * outChannels * h * w, inFmt, h, w, out,
                        outOff + (long) b * outChannels * oh * ow, o, oh, ow, t % blocks, DW_CHANNELS_WORK.get());
            });
            return;
        }
        if (beta == 0f && inFmt == null && o == null && Depthwise3x3.supports(p) && Depthwise3x3.warm()) {
            gemm.pool().parallelFor(chunks, t -> {
                int p0 = (int) ((long) planes * t / chunks), p1 = (int) ((long) planes * (t + 1) / chunks);
                Depthwise3x3.Work work = DW3_WORK.get();
                for (int pi = p0; pi < p1; pi++) {
                    int c = pi % outChannels;
                    Depthwise3x3.plane(p, in, inOff + (long) pi * h * w, h, w, out, outOff + (long) pi * oh * ow, oh,
                            ow, dwWeights, c * 9, bias == null ? 0f : bias[c], act, work);
                }
            });
            return;
        }
        gemm.pool().parallelFor(chunks, t -> {
            int p0 = (int) ((long) planes * t / chunks), p1 = (int) ((long) planes * (t + 1) / chunks);
            DwScratch sc = fast ? DW_SCRATCH.get() : null;
            float[] row = fast ? sc.row(ow) : new float[ow];
            for (int pi = p0; pi < p1; pi++) {
                int c = pi % outChannels;
                if (fast) {
                    depthwisePadded(in, inOff + (long) pi * h * w, inFmt, h, w, out, outOff + (long) pi * oh * ow, o,
                            oh, ow, c, sc, beta);
                } else if (inFmt == null) {
                    depthwisePlane(in, inOff + (long) pi * h * w, h, w, out, outOff + (long) pi * oh * ow, o, oh, ow,
                            c, row, beta);
                } else {
                    // the general kernel reads its input in place: give it the plane as floats
                    float[] plane = new float[h * w];
                    Quant.toFloats(in, inOff + (long) pi * h * w, inFmt, plane, 0, h * w);
                    depthwisePlane(MemorySegment.ofArray(plane), 0, h, w, out, outOff + (long) pi * oh * ow, o, oh,
                            ow, c, row, beta);
                }
            }
        });
    }

    /** Per-thread buffers of the depthwise kernel: the padded, column-phase-split plane and one output row. */
    private static final class DwScratch {
        float[] plane = new float[0];
        float[] row = new float[0];
        float[] stage = new float[0];
        float[] result = new float[0];

        float[] plane(int size) {
            return plane = grow(plane, size);
        }

        float[] row(int size) {
            return row = grow(row, size);
        }

        float[] stage(int size) {
            return stage = grow(stage, size);
        }

        float[] result(int size) {
            return result = grow(result, size);
        }

        private static float[] grow(float[] a, int size) {
            return a.length >= size ? a : new float[size];
        }
    }

    private static final ThreadLocal<DwScratch> DW_SCRATCH = ThreadLocal.withInitial(DwScratch::new);
    private static final ThreadLocal<Depthwise3x3.Work> DW3_WORK = ThreadLocal.withInitial(Depthwise3x3.Work::new);
    private static final ThreadLocal<DepthwiseFlat.Work> DW_FLAT_WORK =
            ThreadLocal.withInitial(DepthwiseFlat.Work::new);
    /** {@code -Dtandem.dw.flat=false}: 3×3 depthwise planes by rows or channels again (for measurements). */
    private static final boolean FLAT = !"false".equals(System.getProperty("tandem.dw.flat"));
    /**
     * 3×3 depthwise outputs wider than this run flat ({@link DepthwiseFlat}); 7×7 outputs (four vectors and a
     * plane's fixed costs) ran no faster (stride 1) or slower (stride 2) than with the vector across channels.
     */
    static final int FLAT_MIN_WIDTH = 8;
    /** {@code -Dtandem.dw.flat5=false}: 5×5 planes back on the row and channel kernels (for measurements). */
    private static final boolean FLAT5 = !"false".equals(System.getProperty("tandem.dw.flat5"));
    /** Outputs at most this wide keep the channel kernel at 5×5 (system property tandem.dw.flat5MinWidth). */
    static final int FLAT5_MIN_WIDTH = Integer.getInteger("tandem.dw.flat5MinWidth", 8);
    /** Outputs at most this wide keep the channel kernel at 5×5 stride 2 (tandem.dw.flat5Stride2MinWidth). */
    static final int FLAT5_STRIDE2_MIN_WIDTH = Integer.getInteger("tandem.dw.flat5Stride2MinWidth", 8);
    private static final ThreadLocal<DepthwiseChannels.Work> DW_CHANNELS_WORK =
            ThreadLocal.withInitial(DepthwiseChannels.Work::new);
    /**
     * Depthwise outputs at most this wide run with the vector across channels ({@link DepthwiseChannels}); wider
     * ones along rows (docs/benchmarks.md has the measurements behind the threshold).
     */
    static final int CHANNELS_MAX_WIDTH = Integer.getInteger("tandem.dwChannelsMaxWidth", 16);

    /**
     * Depthwise plane for dilation 1 and column stride 1 or 2: the plane is copied once into a zero-padded buffer
     * whose columns are split by phase (column mod stride), so every tap of a run of outputs is one contiguous
     * vector load; each output vector accumulates all taps in a register. Output columns are computed in whole
     * vectors (the buffer is wide enough) and only the first {@code ow} are written.
     */
    private void depthwisePadded(MemorySegment in, long io, Int8Format inFmt, int h, int w, MemorySegment out,
                                 long oo, Requantization o, int oh, int ow, int c, DwScratch sc, float beta) {
        int kh = p.kernelH(), kw = p.kernelW(), sh = p.strideH(), sw = p.strideW();
        int owr = (ow + DVL - 1) / DVL * DVL;
        if (sw == 2 && kh == 3 && kw == 3) {
            depthwiseDecimated(in, io, inFmt, h, w, out, oo, o, oh, ow, owr, c, sc, beta);
            return;
        }
        int pw = owr + (kw - 1) / sw + 1;               // columns per phase row
        int rows = (oh - 1) * sh + kh;                   // padded rows read
        int phaseSize = rows * pw;
        // One bulk copy of the plane, then cheap array copies: per-row segment copies cost more than the math.
        // also finishPlane's row scratch when a residual is added: at least one output row (padding can make the
        // output wider than the whole input plane)
        float[] stage = sc.stage(Math.max(h * w, ow));
        Int8Io.read(in, io, inFmt, stage, 0, h * w);
        float[] buf = sc.plane(phaseSize * sw);
        java.util.Arrays.fill(buf, 0, phaseSize * sw, 0f);
        int pt = p.padTop(), pl = p.padLeft();
        for (int y = 0; y < rows; y++) {
            int iy = y - pt;
            if (iy < 0 || iy >= h) {
                continue;
            }
            int src = iy * w;
            if (sw == 2) {
                splitRow(stage, src, w, pl, buf, y * pw, phaseSize + y * pw, pw);
                continue;
            }
            for (int ph = 0; ph < sw; ph++) {
                // padded column x = j*sw + ph holds input column x - pl
                int j0 = Math.max(0, (pl - ph + sw - 1) / sw);
                int j1 = Math.min(pw, (w - 1 + pl - ph) / sw + 1);
                int dst = ph * phaseSize + y * pw;
                if (sw == 1) {
                    if (j1 > j0) {
                        System.arraycopy(stage, src + j0 - pl, buf, dst + j0, j1 - j0);
                    }
                } else {
                    for (int j = j0; j < j1; j++) {
                        buf[dst + j] = stage[src + j * sw + ph - pl];
                    }
                }
            }
        }
        float[] res = sc.result(oh * owr);
        float bv = bias == null ? 0f : bias[c];
        int wBase = c * kh * kw;
        for (int oy = 0; oy < oh; oy++) {
            if (kh == 3 && kw == 3) {
                int r0 = oy * sh * pw;
                int o1 = sw == 1 ? 1 : phaseSize, o2 = sw == 1 ? 2 : 1;
                dwRow3x3(buf, r0, r0 + pw, r0 + 2 * pw, o1, o2, owr, wBase, bv, res, oy * owr, beta == 0f);
            } else if (kw == 5) {
                // Five taps a pass, one pass per kernel row, accumulating in the output row (L1-resident).
                java.util.Arrays.fill(res, oy * owr, (oy + 1) * owr, bv);
                for (int ky = 0; ky < kh; ky++) {
                    int rb = (oy * sh + ky) * pw;
                    accRow5(buf, rb, sw == 1 ? 1 : phaseSize, sw == 1 ? 2 : 1, sw == 1 ? 3 : phaseSize + 1,
                            sw == 1 ? 4 : 2, owr, wBase + ky * 5, res, oy * owr);
                }
            } else {
                for (int ox = 0; ox < owr; ox += DVL) {
                    dwVector(buf, phaseSize, pw, oy * sh, ox, kh, kw, sw, wBase, bv, res, oy * owr + ox);
                }
            }
        }
        finishPlane(res, stage, owr, oh, ow, out, oo, o, c, beta, kh == 3 && kw == 3);
    }

    /**
     * Writes the computed plane (rows {@code owr} apart in {@code res}): beta, activation, one bulk copy; or, for
     * 8-bit output ({@code o}), requantized as channel {@code c}.
     */
    private void finishPlane(float[] res, float[] scratch, int owr, int oh, int ow, MemorySegment out, long oo,
                             Requantization o, int c, float beta, boolean clampedInRow) {
        if (beta != 0f) {
            for (int oy = 0; oy < oh; oy++) {
                System.arraycopy(res, oy * owr, scratch, 0, ow);
                Sgemm.writeRun(scratch, 0, ow, 1f, beta, 0f, false, act, out, oo + (long) oy * ow);
            }
            return;
        }
        if (owr != ow) {
            for (int oy = 1; oy < oh; oy++) {
                System.arraycopy(res, oy * owr, res, oy * ow, ow);
            }
        }
        if (o != null) {
            o.write(res, 0, c, out, oo, oh * ow);
            return;
        }
        if (!(clampedInRow && act.isClamp())) {
            act.applyInPlace(res, 0, oh * ow);
        }
        MemorySegment.copy(res, 0, out, FL, oo * 4, oh * ow);
    }

    /**
     * 3×3 depthwise at column stride 2: each needed output row is computed at full column resolution (stride 1,
     * contiguous loads, twice the multiplies) and every second column kept. Splitting the input into column
     * phases instead costs a scalar pass over the whole input plane, which took longer than the convolution.
     */
    private void depthwiseDecimated(MemorySegment in, long io, Int8Format inFmt, int h, int w, MemorySegment out,
                                    long oo, Requantization o, int oh, int ow, int owr, int c, DwScratch sc,
                                    float beta) {
        int sh = p.strideH();
        int full = 2 * (ow - 1) + 1;
        int fullR = (full + DVL - 1) / DVL * DVL;
        int pw = fullR + 3;
        int rows = (oh - 1) * sh + 3;
        float[] stage = sc.stage(Math.max(Math.max(h * w, fullR), ow));
        Int8Io.read(in, io, inFmt, stage, 0, h * w);
        float[] buf = sc.plane(rows * pw);
        java.util.Arrays.fill(buf, 0, rows * pw, 0f);
        int pt = p.padTop(), pl = p.padLeft();
        int j0 = Math.max(0, pl), j1 = Math.min(pw, w + pl);
        for (int y = 0; y < rows; y++) {
            int iy = y - pt;
            if (iy >= 0 && iy < h && j1 > j0) {
                System.arraycopy(stage, iy * w + j0 - pl, buf, y * pw + j0, j1 - j0);
            }
        }
        float[] res = sc.result(oh * owr);
        float[] row = sc.row(fullR);
        float bv = bias == null ? 0f : bias[c];
        int wBase = c * 9;
        for (int oy = 0; oy < oh; oy++) {
            int r0 = oy * sh * pw;
            dwRow3x3(buf, r0, r0 + pw, r0 + 2 * pw, 1, 2, fullR, wBase, bv, row, 0, beta == 0f);
            int d = oy * owr;
            for (int j = 0; j < ow; j++) {
                res[d + j] = row[2 * j];
            }
        }
        finishPlane(res, stage, owr, oh, ow, out, oo, o, c, beta, true);
    }

    /**
     * Splits one input row into the even and odd padded columns of stride 2: padded column x (= input column
     * x − pl) goes to {@code even[x/2]} or {@code odd[x/2]}; columns outside the input stay zero.
     */
    private static void splitRow(float[] stage, int src, int w, int pl, float[] buf, int even, int odd, int pw) {
        int x0 = pl, x1 = Math.min(pl + w, 2 * pw);     // padded columns holding input
        int x = x0;
        if ((x & 1) == 1 && x < x1) {
            buf[odd + (x >> 1)] = stage[src + x - pl];
            x++;
        }
        int pairs = (x1 - x) >> 1;
        int e = even + (x >> 1), o = odd + (x >> 1), si = src + x - pl;
        for (int i = 0; i < pairs; i++) {
            buf[e + i] = stage[si + 2 * i];
            buf[o + i] = stage[si + 2 * i + 1];
        }
        x += 2 * pairs;
        if (x < x1) {
            buf[even + (x >> 1)] = stage[src + x - pl];
        }
    }

    /**
     * A 3×3 output row: rows {@code r0..r2} of the padded buffer; tap kx reads at offset 0, {@code o1}, {@code o2}
     * (stride 1: 0, 1, 2; stride 2: even phase, odd phase, even phase + 1).
     */
    private void dwRow3x3(float[] buf, int r0, int r1, int r2, int o1, int o2, int owr, int wBase, float bv,
                          float[] row, int rowOff, boolean clamp) {
        // A clamp activation (ReLU, ReLU6, Clip; none is the clamp to ±∞) applied in the register before the store
        // when nothing is added afterwards: a separate pass over the plane took as long as the convolution.
        float lo = clamp && act.isClamp() ? act.clampLow() : Float.NEGATIVE_INFINITY;
        float hi = clamp && act.isClamp() ? act.clampHigh() : Float.POSITIVE_INFINITY;
        Depthwise3x3.row(buf, r0, r1, r2, o1, o2, owr, dwWeights, wBase, bv, lo, hi, row, rowOff);
    }

    /** Adds five taps of one kernel row (at offsets 0, o1..o4 from {@code rb}) to {@code row[rowOff..+owr)}. */
    private void accRow5(float[] buf, int rb, int o1, int o2, int o3, int o4, int owr, int wBase, float[] row,
                         int rowOff) {
        float[] k = dwWeights;
        FloatVector w0 = FloatVector.broadcast(DS, k[wBase]), w1 = FloatVector.broadcast(DS, k[wBase + 1]);
        FloatVector w2 = FloatVector.broadcast(DS, k[wBase + 2]), w3 = FloatVector.broadcast(DS, k[wBase + 3]);
        FloatVector w4 = FloatVector.broadcast(DS, k[wBase + 4]);
        for (int ox = 0; ox < owr; ox += DVL) {
            int b = rb + ox;
            FloatVector acc = FloatVector.fromArray(DS, row, rowOff + ox);
            acc = FloatVector.fromArray(DS, buf, b).fma(w0, acc);
            acc = FloatVector.fromArray(DS, buf, b + o1).fma(w1, acc);
            acc = FloatVector.fromArray(DS, buf, b + o2).fma(w2, acc);
            acc = FloatVector.fromArray(DS, buf, b + o3).fma(w3, acc);
            acc = FloatVector.fromArray(DS, buf, b + o4).fma(w4, acc);
            acc.intoArray(row, rowOff + ox);
        }
    }

    /** One output vector: all taps accumulated in a register, stored to {@code row[ox..]}. */
    private void dwVector(float[] buf, int phaseSize, int pw, int y0, int ox, int kh, int kw, int sw, int wBase,
                          float bv, float[] row, int rowOff) {
        FloatVector acc = FloatVector.broadcast(DS, bv);
        for (int ky = 0; ky < kh; ky++) {
            int rowBase = (y0 + ky) * pw + ox;
            for (int kx = 0; kx < kw; kx++) {
                int idx = (kx % sw) * phaseSize + rowBase + kx / sw;
                acc = FloatVector.fromArray(DS, buf, idx).fma(FloatVector.broadcast(DS, dwWeights[wBase + ky * kw + kx]),
                        acc);
            }
        }
        acc.intoArray(row, rowOff);
    }

    private void depthwisePlane(MemorySegment in, long io, int h, int w, MemorySegment out, long oo, Requantization o,
                                int oh, int ow, int c, float[] row, float beta) {
        int kh = p.kernelH(), kw = p.kernelW(), sh = p.strideH(), sw = p.strideW();
        int taps = kh * kw;
        float bv = bias == null ? 0f : bias[c];
        for (int oy = 0; oy < oh; oy++) {
            java.util.Arrays.fill(row, 0, ow, bv);
            for (int ky = 0; ky < kh; ky++) {
                int iy = oy * sh - p.padTop() + ky * p.dilationH();
                if (iy < 0 || iy >= h) {
                    continue;
                }
                long rowIn = io + (long) iy * w;
                for (int kx = 0; kx < kw; kx++) {
                    float wv = dwWeights[c * taps + ky * kw + kx];
                    int shift = kx * p.dilationW() - p.padLeft();
                    // output columns whose input column ox*sw + shift lies in [0, w)
                    int lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
                    int hi = Math.min(ow, (w - 1 - shift) / sw + 1);
                    if (w - 1 - shift < 0) {
                        hi = 0;
                    }
                    int ox = lo;
                    if (sw == 1) {
                        FloatVector wvv = FloatVector.broadcast(S, wv);
                        for (; ox + VL <= hi; ox += VL) {
                            FloatVector x = FloatVector.fromMemorySegment(S, in, (rowIn + ox + shift) * 4, LE);
                            x.fma(wvv, FloatVector.fromArray(S, row, ox)).intoArray(row, ox);
                        }
                    }
                    for (; ox < hi; ox++) {
                        row[ox] += wv * in.getAtIndex(FL, rowIn + (long) ox * sw + shift);
                    }
                }
            }
            long orow = oo + (long) oy * ow;
            if (o != null) {
                o.write(row, 0, c, out, orow, ow);
            } else {
                Sgemm.writeRun(row, 0, ow, 1f, beta, 0f, false, act, out, orow);
            }
        }
    }
}
