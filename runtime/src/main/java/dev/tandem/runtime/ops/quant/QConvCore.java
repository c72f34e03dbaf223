package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Kernel;
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
 * <p>How it runs: the weights minus their zero points become integer-valued floats packed once by {@link Conv2d}
 * (when w is known at plan time; else per run), the input minus its zero point is widened the same way, and
 * {@link Conv2d}'s fast paths (depthwise, pointwise, implicit GEMM) compute the accumulators, which are exact
 * integers while a channel's reduction ({@code C/group · kH · kW}) is at most {@link #EXACT_K} (every partial sum
 * below 2²⁴); longer reductions are exact to float rounding (relative 6·10⁻⁸), so a requantized output is within 1 of
 * the int32 result. Then one pass requantizes per output channel: {@code y = saturate(rint(acc · mult[c] + add[c])
 * + y_zero)} ({@link Quant#requantize}), or converts to int32 (ConvInteger, which refuses longer reductions as
 * unsupported rather than round).
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
        Scratch scratch = new Scratch(4 * (inCount + outCount));
        boolean xu = tx == DType.UINT8, wu = tw == DType.UINT8;
        Shape w4 = Shape.of(m, c / group, p.kernelH(), p.kernelW());
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
            return Conv2d.prepare(p, c, Tensor.wrap(f, 0, DType.FLOAT32, w4), null,
                    dev.tandem.runtime.kernels.Activation.NONE);
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
