package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@code dev.tandem.FusedExpandDepthwise}: a 1×1 convolution that widens the channels (MobileNet's and
 * EfficientNet's "expansion") followed by a depthwise convolution of its output, computed a block of channels at a
 * time: the expansion's output for one block goes to a scratch buffer small enough to stay in the core's L2 cache,
 * and the depthwise convolution reads it from there. The expanded tensor (4.8 MB at 96 channels of 112×112) is
 * never written out and read back. The graph optimizer produces it ({@code ExpandDepthwiseFusion}).
 *
 * <p>Contract: inputs X [N, C, H, W], W1 [M, C, 1, 1], B1 [M] (optional), W2 [M, 1, kH, kW], B2 [M] (optional),
 * all but X constant; the depthwise convolution's attributes (strides, pads, dilations, auto_pad, kernel_shape,
 * group = M) with ONNX Conv's meaning; {@code activation} (+ {@code _min}/{@code _max}) after the depthwise
 * convolution and {@code expand_activation} (+ {@code expand_activation_min}/{@code _max}) after the expansion,
 * with FusedConv's values. Output: {@code act(dwconv(expand_act(conv1x1(X, W1) + B1), W2) + B2)}. Float32 only.
 */
public final class FusedExpandDepthwise implements Op {
    /** Bytes of one block's expanded planes: well inside a 2 MB L2 with the input and weights beside it. */
    static final long BLOCK_BYTES = 640 * 1024;

    @Override
    public String type() {
        return "FusedExpandDepthwise";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        String op = "FusedExpandDepthwise";
        ctx.requireType(0, DType.FLOAT32);
        ctx.requireType(1, DType.FLOAT32);
        ctx.requireType(3, DType.FLOAT32);
        Shape x = ctx.shape(0);
        if (x.rank() != 4) {
            throw ctx.fail(op + " needs a 4-d input [N, C, H, W]; got " + x);
        }
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor w1 = ctx.constant(1), w2 = ctx.constant(3);
        Tensor b1 = ctx.hasInput(2) ? ctx.constant(2) : null;
        Tensor b2 = ctx.hasInput(4) ? ctx.constant(4) : null;
        if (w1 == null || w2 == null || ctx.hasInput(2) && b1 == null || ctx.hasInput(4) && b2 == null) {
            throw ctx.unsupported(op + " needs constant weights and biases");
        }
        Shape s1 = w1.shape(), s2 = w2.shape();
        int m = s1.rank() == 4 ? s1.dim(0) : -1;
        if (s1.rank() != 4 || s1.dim(1) != c || s1.dim(2) != 1 || s1.dim(3) != 1) {
            throw ctx.fail(op + " expansion weights must be [M, " + c + ", 1, 1]; got " + s1);
        }
        if (s2.rank() != 4 || s2.dim(0) != m || s2.dim(1) != 1) {
            throw ctx.fail(op + " depthwise weights must be [" + m + ", 1, kH, kW]; got " + s2);
        }
        if (ctx.attrInt("group", 1) != m) {
            throw ctx.fail(op + " needs group = " + m + "; got " + ctx.attrInt("group", 1));
        }
        if (ctx.hasInput(2)) {
            ctx.requireType(2, DType.FLOAT32);
        }
        if (ctx.hasInput(4)) {
            ctx.requireType(4, DType.FLOAT32);
        }
        checkBias(ctx, op, b1, m);
        checkBias(ctx, op, b2, m);
        ConvParams p = Geometry.params(ctx, new int[] {h, w}, Geometry.spatial(s2), m);
        Shape outShape = Geometry.outShape(ctx, x, m, p, false);
        int oh = outShape.dim(2), ow = outShape.dim(3);
        Activation expandAct = FusedConv.activation(ctx, "expand_");
        Activation act = FusedConv.activation(ctx, "");
        // channels per block: a multiple of the GEMM's row tile where that fits, at least one. Prepared once per
        // model (PackedWeights) and shared by every plan: the blocking suits the first plan's image size and is
        // correct for any. With explicit pads the geometry is the same for every plan, so the node reads its
        // weights only prepared from now on and the model may free the graph's copies.
        long plane = 4L * h * w;
        Blocks bl = ctx.packs().get(new PackKey(ctx.node(), p, expandAct, act), () -> {
            PackedWeights.requireUnreleased(ctx, op, w1, b1, w2, b2);
            return blocks(c, m, plane, ctx.gemm().pool().threads(), p, w1, b1, w2, b2, expandAct, act);
        }, Blocks::bytes);
        if (PackedWeights.fixedGeometry(ctx)) {
            ctx.packs().packedOnly(ctx.node(), 1, 2, 3, 4);
        }
        int mb = bl.mb, blocks = bl.expand.length;
        Conv2d[] expand = bl.expand, depthwise = bl.depthwise;
        int[] first = bl.first;
        Sgemm gemm = ctx.gemm();
        // A stride-2 depthwise convolution the flat kernels take (3×3 or 5×5): the input is split into phase order
        // once per image (c planes), so that each block's expansion computes its planes already split and the
        // depthwise kernel reads them as they are, instead of splitting every expanded plane (m of them) again.
        boolean phases = depthwise[0].takesPhases(h, w);
        Scratch split = phases ? new Scratch((long) n * c * plane) : null;
        Scratch scratch = new Scratch((long) Math.min(mb, m) * plane + (phases ? Conv2d.phasesSlackBytes() : 0));
        long macs = (long) n * m * h * w * c + outShape.size() * (long) p.kernelH() * p.kernelW();
        int threads = gemm.pool().threads();
        // With at least one block per thread, each task runs one block's expansion and depthwise convolution on
        // one thread, into that thread's own buffer: one hand-off per node instead of two per block, and the block
        // stays in the L2 of the core that wrote it. Fewer blocks than threads split each half over the pool.
        boolean perBlock = threads > 1 && n * blocks >= threads;
        return Prepared.of(DType.FLOAT32, outShape, macs, (in, out) -> {
            Tensor xc = in[0].contiguous();
            MemorySegment splitBuf = phases ? split.take() : null;
            try {
                MemorySegment xs = xc.segment(), o = out[0].segment();
                long xBase = xc.offset(), oBase = out[0].offset();
                if (phases) {
                    MemorySegment from = xs;
                    long fromOff = xBase;
                    int planes = n * c, parts = Math.min(planes, threads);
                    gemm.pool().parallelFor(parts, t -> {
                        int p0 = planes * t / parts, p1 = planes * (t + 1) / parts;
                        long at = (long) p0 * h * w;
                        Conv2d.splitPhases(from, fromOff + at, p1 - p0, h, w, splitBuf, at);
                    });
                    xs = splitBuf;
                    xBase = 0;
                }
                MemorySegment src = xs;
                long xOff = xBase;
                if (perBlock) {
                    Sgemm serial = gemm.serial();
                    gemm.pool().parallelFor(n * blocks, t -> {
                        int i = t / blocks, b = t % blocks;
                        block(serial, scratch, expand[b], depthwise[b], phases, src, xOff + (long) i * c * h * w,
                                h, w, o, oBase + ((long) i * m + first[b]) * oh * ow);
                    });
                } else {
                    for (int i = 0; i < n; i++) {
                        for (int b = 0; b < blocks; b++) {
                            block(gemm, scratch, expand[b], depthwise[b], phases, src,
                                    xOff + (long) i * c * h * w, h, w, o, oBase + ((long) i * m + first[b]) * oh * ow);
                        }
                    }
                }
            } finally {
                if (splitBuf != null) {
                    split.give(splitBuf);
                }
                if (xc != in[0]) {
                    xc.close();
                }
            }
        });
    }

    /**
     * One channel block of one image: expansion into a scratch buffer, then the depthwise convolution from it; with
     * {@code phases}, the input planes are in phase order and so are the expanded ones.
     */
    private static void block(Sgemm gemm, Scratch scratch, Conv2d expand, Conv2d depthwise, boolean phases,
                              MemorySegment x, long xo, int h, int w, MemorySegment o, long oo) {
        MemorySegment buf = scratch.take();
        try {
            expand.forward(gemm, x, xo, 1, h, w, buf, 0);
            if (phases) {
                depthwise.forwardPhases(gemm, buf, 0, h, w, o, oo);
            } else {
                depthwise.forward(gemm, buf, 0, 1, h, w, o, oo);
            }
        } finally {
            scratch.give(buf);
        }
    }

    /** The prepared halves of each channel block; {@code first[b]} is block b's first channel. */
    private record Blocks(int mb, Conv2d[] expand, Conv2d[] depthwise, int[] first) {
        long bytes() {
            long b = 0;
            for (int i = 0; i < expand.length; i++) {
                b += expand[i].weightBytes() + depthwise[i].weightBytes();
            }
            return b;
        }
    }

    private record PackKey(Node node, ConvParams p, Activation expandAct, Activation act) {
    }

    private static Blocks blocks(int c, int m, long plane, int threads, ConvParams p, Tensor w1, Tensor b1,
                                 Tensor w2, Tensor b2, Activation expandAct, Activation act) {
        int mb = blockChannels(m, plane, threads);
        int blocks = (m + mb - 1) / mb;
        Conv2d[] expand = new Conv2d[blocks];
        Conv2d[] depthwise = new Conv2d[blocks];
        int[] first = new int[blocks + 1];
        float[] bias1 = b1 == null ? null : b1.toFloatArray();
        float[] bias2 = b2 == null ? null : b2.toFloatArray();
        Tensor w1c = w1.contiguous(), w2c = w2.contiguous();
        try {
            int taps = p.kernelH() * p.kernelW();
            for (int b = 0; b < blocks; b++) {
                int c0 = b * mb, k = Math.min(mb, m - c0);
                first[b] = c0;
                Tensor wb1 = Tensor.wrap(w1c.segment(), w1c.offset() + (long) c0 * c, DType.FLOAT32,
                        Shape.of(k, c, 1, 1));
                Tensor wb2 = Tensor.wrap(w2c.segment(), w2c.offset() + (long) c0 * taps, DType.FLOAT32,
                        Shape.of(k, 1, p.kernelH(), p.kernelW()));
                expand[b] = Conv2d.prepare(ConvParams.square(1, 1, 0), c, wb1, slice(bias1, c0, k), expandAct);
                depthwise[b] = Conv2d.prepare(p.withGroups(k), k, wb2, slice(bias2, c0, k), act);
            }
            first[blocks] = m;
        } finally {
            if (w1c != w1) {
                w1c.close();
            }
            if (w2c != w2) {
                w2c.close();
            }
        }
        return new Blocks(mb, expand, depthwise, first);
    }

    /**
     * Channels per block: at most {@link #BLOCK_BYTES} of expanded planes, a whole number of the GEMM's row tiles
     * where a tile fits, and, where there are enough tiles, a block count that is a multiple of {@code threads} (so
     * that one block per task keeps every thread busy to the end).
     */
    static int blockChannels(int m, long plane, int threads) {
        int mb = (int) Math.max(1, Math.min(m, BLOCK_BYTES / plane));
        if (mb < Sgemm.MR) {
            return mb;
        }
        int tiles = (m + Sgemm.MR - 1) / Sgemm.MR;
        int blocks = (m + mb - 1) / mb;
        if (threads > 1 && tiles >= threads) {
            blocks = (blocks + threads - 1) / threads * threads;
            if (blocks > tiles) {
                blocks = tiles / threads * threads;
            }
        }
        blocks = Math.min(Math.max(blocks, 1), tiles);
        return Math.min(m, (tiles + blocks - 1) / blocks * Sgemm.MR);
    }

    private static void checkBias(OpContext ctx, String op, Tensor b, int m) {
        if (b != null && (b.shape().rank() != 1 || b.shape().dim(0) != m)) {
            throw ctx.fail(op + " bias must be [" + m + "]; got " + b.shape());
        }
    }

    private static float[] slice(float[] a, int from, int len) {
        return a == null ? null : java.util.Arrays.copyOfRange(a, from, from + len);
    }
}
