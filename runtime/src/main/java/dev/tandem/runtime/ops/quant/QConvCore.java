package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.Int8Format;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Requantization;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The integer convolution behind QLinearConv, ConvInteger and the fused {@code dev.tandem.QConv}: 1-D or 2-D, every
 * Conv attribute, 8-bit x and w with zero points (w's per output channel or per tensor).
 *
 * <p>How it runs: the weights minus their zero points become integer-valued floats packed by {@link Conv2d} (once
 * when w is known at plan time), and {@link Conv2d}'s fast paths (depthwise, pointwise, implicit GEMM) compute the
 * accumulators, which are exact integers while a channel's reduction ({@code C/group · kH · kW}) is at most
 * {@link #EXACT_K} (every partial sum below 2²⁴); longer reductions are exact to float rounding, so a requantized
 * output is within 1 of the int32 result (and in practice equal: partial sums of centred data rarely reach 2²⁴).
 * Each output channel is requantized as {@code y = saturate(rint(acc · mult[c] + add[c]) + y_zero)} with
 * {@code mult[c] = x_scale · w_scale[c] / y_scale}, the same integer arithmetic as ONNX Runtime's kernels.
 *
 * <p>When every input but x is known at plan time and the output is 8-bit (the fused QConv of a QDQ model, and
 * QLinearConv with constant parameters), the convolution reads the 8-bit input as {@code x − x_zero} where its paths
 * copy their input anyway, and requantizes as it writes each tile or plane ({@link Int8Format},
 * {@link Requantization}): a run is the float convolution and no more. Otherwise (scales or weights given at run
 * time, or int32 output) the input is widened into a float buffer first and one pass requantizes ({@link
 * Quant#requantize}) or converts to int32 (ConvInteger, which refuses longer reductions as unsupported rather than
 * round).
 */
final class QConvCore {
    /** Longest reduction whose float accumulation is exact for 8-bit operands (258 · 255² < 2²⁴). */
    static final int EXACT_K = 258;

    /** How the accumulators become the output. */
    interface Epilogue {
        /** Per output channel multiplier and addend (length M), or null for int32 output. */
        float[][] params(Tensor[] in);
    }

    private QConvCore() {
    }

    /**
     * @param xi, wi     input indices of x and w
     * @param xzi, wzi   input indices of their zero points (absent: 0)
     * @param out        UINT8/INT8 (requantized) or INT32 (raw accumulators)
     * @param yzi        input index of the output zero point (requantized only; absent: 0)
     * @param clamp      a fused activation's bounds {@code [min, max]} in real units, or null
     */
    static Prepared prepare(OpContext ctx, String op, int xi, int xzi, int wi, int wzi, DType out, int yzi,
                            float[] clamp, Epilogue epilogue) {
        DType tx = ctx.requireType(xi, DType.UINT8, DType.INT8);
        DType tw = ctx.requireType(wi, DType.UINT8, DType.INT8);
        Shape x = ctx.shape(xi), ws = ctx.shape(wi);
        int r = Geometry.spatialRank(ctx, x, op);
        if (ws.rank() != x.rank()) {
            throw ctx.fail(op + " weights must have rank " + x.rank() + "; got " + ws);
        }
        int group = Math.toIntExact(ctx.attrInt("group", 1));
        int c = x.dim(1), m = ws.dim(0);
        if (group < 1 || c % group != 0 || m % group != 0 || ws.dim(1) * group != c) {
            throw ctx.fail(op + " with " + c + " input channels and group " + group + " needs weights [M, "
                    + (group < 1 ? "?" : c / group) + ", ...]; got " + ws);
        }
        if (ctx.hasInput(xzi)) {
            ctx.requireType(xzi, tx);
            if (ctx.shape(xzi).size() != 1) {
                throw ctx.unsupported(op + " with a per-channel input zero point");
            }
        }
        if (ctx.hasInput(wzi)) {
            ctx.requireType(wzi, tw);
            long s = ctx.shape(wzi).size();
            if (s != 1 && s != m) {
                throw ctx.fail(op + " weight zero point must be a scalar or one per output channel; got "
                        + ctx.shape(wzi));
            }
        }
        if (yzi >= 0 && ctx.hasInput(yzi)) {
            ctx.requireType(yzi, out);
        }
        int[] kernel = Geometry.spatial(ws);
        boolean quantizedOut = out != DType.INT32;
        Tensor[] known = knownBut(ctx, xi);
        ConvParams p = Geometry.params(ctx, Geometry.spatial(x), kernel, group);
        Shape outShape = Geometry.outShape(ctx, x, m, p, false);
        int k = c / group * p.kernelH() * p.kernelW();
        if (out == DType.INT32 && k > EXACT_K) {
            throw ctx.unsupported(op + " with a reduction of " + k + " terms per output (more than " + EXACT_K
                    + " could round); use QLinearConv or a QDQ model");
        }
        Shape x4 = Geometry.as4d(x);
        int n = x4.dim(0), h = x4.dim(2), w = x4.dim(3);
        long inCount = x4.size(), outCount = outShape.size();
        int plane = Math.toIntExact(outCount / Math.max(1, (long) n * m));
        boolean xu = tx == DType.UINT8, wu = tw == DType.UINT8;
        Shape w4 = Shape.of(m, c / group, p.kernelH(), p.kernelW());
        if (quantizedOut && known != null) {
            Kernel fast = prepared(ctx, p, c, w4, known, xi, xzi, wi, wzi, yzi, xu, wu, out, clamp, epilogue, n, h,
                    w, outCount);
            return Prepared.of(out, outShape, outCount * k, fast);
        }
        Scratch scratch = new Scratch(4 * (inCount + outCount));
        Tensor wConst = ctx.constant(wi);
        Tensor wzConst = ctx.hasInput(wzi) ? ctx.constant(wzi) : null;
        Conv2d fixed = wConst != null && (!ctx.hasInput(wzi) || wzConst != null)
                ? conv(p, c, w4, wConst, wu, QuantSupport.zeros(wzConst, 1)) : null;
        boolean quantized = out != DType.INT32;
        int lo = quantized ? Quant.min(out == DType.UINT8) : 0, hi = quantized ? Quant.max(out == DType.UINT8) : 0;
        Sgemm gemm = ctx.gemm();
        Kernel kern = (in, o) -> {
            Conv2d conv = fixed != null ? fixed
                    : conv(p, c, w4, in[wi], wu, QuantSupport.zeros(ctx.hasInput(wzi) ? in[wzi] : null, 1));
            int xz = QuantSupport.zeros(ctx.hasInput(xzi) ? in[xzi] : null, 1)[0];
            float[][] mp = epilogue.params(in);
            int yz = quantized && yzi >= 0 && ctx.hasInput(yzi) ? QuantSupport.zeros(in[yzi], 1)[0] : 0;
            // y_scale comes right before y_zero_point (QLinearConv's layout, which QConv shares)
            float yScale = clamp == null ? 1f : QuantSupport.floats(in[yzi - 1])[0];
            int[] range = quantized ? QConv.range(clamp, yScale, yz, lo, hi) : null;
            Tensor xc = in[xi].contiguous();
            MemorySegment buf = scratch.take();
            try {
                Quant.dequantize(xc.segment(), xc.offset(), xu, xz, 1f, buf, 0, inCount);
                conv.forward(gemm, buf, 0, n, h, w, buf, inCount);
                Tensor y = o[0];
                MemorySegment ys = y.segment();
                long off = 0;
                for (int b = 0; b < n; b++) {
                    for (int ch = 0; ch < m; ch++, off += plane) {
                        if (quantized) {
                            Quant.requantize(buf, inCount + off, mp[0][ch], mp[1][ch], yz, range[0], range[1], ys,
                                    y.offset() + off, plane);
                        } else {
                            for (int i = 0; i < plane; i++) {
                                float a = buf.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, inCount + off + i);
                                ys.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, y.offset() + off + i, (int) a);
                            }
                        }
                    }
                }
            } finally {
                scratch.give(buf);
                if (xc != in[xi]) {
                    xc.close();
                }
            }
        };
        return Prepared.of(out, outShape, outCount * k, kern);
    }

    /** Every input but x known at plan time, by index (absent ones null), or null when one is not. */
    private static Tensor[] knownBut(OpContext ctx, int xi) {
        Tensor[] known = new Tensor[ctx.inputCount()];
        for (int i = 0; i < known.length; i++) {
            if (i != xi && ctx.hasInput(i)) {
                known[i] = ctx.constant(i);
                if (known[i] == null) {
                    return null;
                }
            }
        }
        return known;
    }

    /**
     * The run of a convolution whose parameters are all known: one {@link Conv2d} over the integer-valued weights that
     * reads the 8-bit input and writes the requantized 8-bit output itself (through a float buffer only when it
     * cannot: a GEMM reduction longer than the GEMM's depth block).
     */
    private static Kernel prepared(OpContext ctx, ConvParams p, int c, Shape w4, Tensor[] known, int xi, int xzi,
                                   int wi, int wzi, int yzi, boolean xu, boolean wu, DType out, float[] clamp,
                                   Epilogue epilogue, int n, int h, int w, long outCount) {
        float[][] mp = epilogue.params(known);
        int m = w4.dim(0);
        int xz = QuantSupport.zeros(xzi >= 0 ? known[xzi] : null, 1)[0];
        int yz = QuantSupport.zeros(yzi >= 0 ? known[yzi] : null, 1)[0];
        boolean yu = out == DType.UINT8;
        // y_scale comes right before y_zero_point (QLinearConv's layout, which QConv shares)
        float yScale = clamp == null ? 1f : QuantSupport.floats(known[yzi - 1])[0];
        int[] range = QConv.range(clamp, yScale, yz, Quant.min(yu), Quant.max(yu));
        // Built once per model and counted as held (PackedWeights): the integer-valued float weights are four times
        // the file's bytes, and every plan (batch size) of the model shares them. Where the geometry cannot change
        // between plans, the graph's 8-bit copy is freed.
        Tensor wConst = known[wi];
        int[] wz = QuantSupport.zeros(wzi >= 0 ? known[wzi] : null, 1);
        Conv2d conv = ctx.packs().get(new PackKey(ctx.node(), p), () -> {
            PackedWeights.requireUnreleased(ctx, ctx.node().opType(), wConst);
            return conv(p, c, w4, wConst, wu, wz);
        }, Conv2d::weightBytes);
        if (PackedWeights.fixedGeometry(ctx)) {
            ctx.packs().packedOnly(ctx.node(), wi);
        }
        Int8Format xf = new Int8Format(xu, xz);
        Requantization yq = new Requantization(new Int8Format(yu, yz), mp[0], mp[1], range[0] - yz, range[1] - yz);
        Sgemm gemm = ctx.gemm();
        Scratch floats = conv.writesInt8(gemm) ? null : new Scratch(4 * outCount);
        int plane = Math.toIntExact(outCount / Math.max(1, (long) n * m));
        return (in, o) -> {
            Tensor xc = in[xi].contiguous();
            Tensor y = o[0];
            try {
                if (floats == null) {
                    conv.forward(gemm, xc.segment(), xc.offset(), xf, n, h, w, y.segment(), y.offset(), yq);
                    return;
                }
                MemorySegment buf = floats.take();
                try {
                    conv.forward(gemm, xc.segment(), xc.offset(), xf, n, h, w, buf, 0, null);
                    long off = 0;
                    for (int b = 0; b < n; b++) {
                        for (int ch = 0; ch < m; ch++, off += plane) {
                            Quant.requantize(buf, off, mp[0][ch], mp[1][ch], yz, range[0], range[1], y.segment(),
                                    y.offset() + off, plane);
                        }
                    }
                } finally {
                    floats.give(buf);
                }
            } finally {
                if (xc != in[xi]) {
                    xc.close();
                }
            }
        };
    }

    /** What {@link PackedWeights} keeps a node's prepared convolution under. */
    private record PackKey(Node node, ConvParams p) {
    }

    /** A float convolution over the integer-valued weights {@code w − zero[channel]}. */
    private static Conv2d conv(ConvParams p, int c, Shape w4, Tensor w, boolean unsigned, int[] zero) {
        int m = w4.dim(0);
        long per = w4.size() / m;
        Tensor wc = w.contiguous();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = arena.allocate(4 * w4.size(), 64);
            for (int ch = 0; ch < m; ch++) {
                Quant.dequantize(wc.segment(), wc.offset() + ch * per, unsigned, zero[zero.length == 1 ? 0 : ch], 1f,
                        f, ch * per, per);
            }
            return Conv2d.prepare(p, c, Tensor.wrap(f, 0, DType.FLOAT32, w4), null, Activation.NONE);
        } finally {
            if (wc != w) {
                wc.close();
            }
        }
    }

    /** Per channel {@code scale · wScale[c]}, for the epilogues. */
    static float[] channelScale(float xScale, float[] wScale, int m) {
        float[] s = new float[m];
        for (int i = 0; i < m; i++) {
            s[i] = xScale * wScale[wScale.length == 1 ? 0 : i];
        }
        return s;
    }
}
