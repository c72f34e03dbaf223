package dev.tandem.runtime.kernels;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The gradients of a 2-D NCHW float32 convolution {@code y = conv(x, w)} (no bias; the bias gradient is a sum of
 * dY), on the threads of a {@link Sgemm}'s pool. The reference is
 * {@link dev.tandem.runtime.kernels.reference.ReferenceConvGrad}.
 *
 * <ul>
 *   <li>dX with unit strides is itself a convolution: dY convolved with the weights flipped in space and with
 *       input and output channels swapped (per group), padded by {@code dilation·(k-1) - pad}. It runs on
 *       {@link Conv2d}'s fast paths.</li>
 *   <li>dX otherwise: per image, {@code cols = Wᵀ·dY} by GEMM, then scattered back (col2im).</li>
 *   <li>dW of a 3×3, pad-1 convolution with at least 32 channels each way: {@link WinogradGrad} (F(2×2, 3×3),
 *       2.25× fewer multiply-adds).</li>
 *   <li>dW otherwise with unit strides, no dilation and one group: {@link ShiftedDot} (dot products along the
 *       pixels, no im2col, images in parallel).</li>
 *   <li>dW otherwise: per image and group, {@code dW += dY·colsᵀ} by GEMM over the image's im2col (skipped for
 *       1×1 unit stride, where the columns are the input itself).</li>
 * </ul>
 * All tensors contiguous float32; the kernels allocate only heap scratch per call.
 */
public final class ConvBackward {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ConvBackward() {
    }

    /** {@code dx [n, c, h, w] = ∂L/∂x} from {@code dy [n, m, oh, ow]} and {@code w [m, c/groups, kh, kw]}. */
    public static void input(Sgemm gemm, ConvParams p, Tensor dy, Tensor w, Tensor dx) {
        int n = dx.shape().dim(0), c = dx.shape().dim(1), h = dx.shape().dim(2), wd = dx.shape().dim(3);
        int m = w.shape().dim(0), g = p.groups(), cg = c / g, mg = m / g;
        int kh = p.kernelH(), kw = p.kernelW();
        int padT = p.dilationH() * (kh - 1) - p.padTop(), padB = p.dilationH() * (kh - 1) - p.padBottom();
        int padL = p.dilationW() * (kw - 1) - p.padLeft(), padR = p.dilationW() * (kw - 1) - p.padRight();
        if (p.strideH() == 1 && p.strideW() == 1 && padT >= 0 && padB >= 0 && padL >= 0 && padR >= 0) {
            // w'[ic][local oc][i][j] = w[oc][local ic][kh-1-i][kw-1-j], group by group.
            float[] src = new float[(int) w.size()];
            MemorySegment.copy(w.segment(), F, w.offset() * 4, src, 0, src.length);
            float[] flipped = new float[src.length];
            int taps = kh * kw;
            for (int oc = 0; oc < m; oc++) {
                int gi = oc / mg, lo = oc % mg;
                for (int lc = 0; lc < cg; lc++) {
                    int from = (oc * cg + lc) * taps;
                    int to = ((gi * cg + lc) * mg + lo) * taps;
                    for (int t = 0; t < taps; t++) {
                        flipped[to + taps - 1 - t] = src[from + t];
                    }
                }
            }
            ConvParams q = new ConvParams(kh, kw, 1, 1, padT, padL, padB, padR, p.dilationH(), p.dilationW(), g);
            try (Tensor wt = Tensor.ofFloats(Shape.of(c, mg, kh, kw), flipped)) {
                Conv2d conv = Conv2d.prepare(q, m, wt, null, Activation.NONE);
                conv.forward(gemm, dy.segment(), dy.offset(), n, dy.shape().dim(2), dy.shape().dim(3),
                        dx.segment(), dx.offset());
            }
            return;
        }
        int oh = dy.shape().dim(2), ow = dy.shape().dim(3), hwo = oh * ow;
        int rows = cg * kh * kw;
        float[] cols = new float[rows * hwo];
        MemorySegment colSeg = MemorySegment.ofArray(cols);
        long hw = (long) h * wd;
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < g; gi++) {
                // cols[rows × hwo] = w_gᵀ [rows × mg] · dy_g [mg × hwo]
                gemm.gemm(true, false, rows, hwo, mg, 1f, w.segment(), w.offset() + (long) gi * mg * rows, rows,
                        dy.segment(), dy.offset() + ((long) b * m + (long) gi * mg) * hwo, hwo, 0f, colSeg, 0, hwo);
                long xOff = dx.offset() + ((long) b * c + (long) gi * cg) * hw;
                gemm.pool().parallelFor(cg, cc -> col2im(cols, cc, p, h, wd, oh, ow, dx.segment(), xOff + cc * hw));
            }
        }
    }

    /** {@code dw [m, c/groups, kh, kw] = ∂L/∂w} from {@code dy [n, m, oh, ow]} and {@code x [n, c, h, w]}. */
    public static void weight(Sgemm gemm, ConvParams p, Tensor dy, Tensor x, Tensor dw) {
        int n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), wd = x.shape().dim(3);
        int m = dw.shape().dim(0), g = p.groups(), cg = c / g, mg = m / g;
        int kh = p.kernelH(), kw = p.kernelW();
        int oh = dy.shape().dim(2), ow = dy.shape().dim(3), hwo = oh * ow;
        int rows = cg * kh * kw;
        long hw = (long) h * wd;
        if (WinogradGrad.applies(p, c, m, h, wd)) {
            WinogradGrad.weight(gemm.pool(), dy, x, dw);
            return;
        }
        if (ShiftedDot.applies(p)) {
            ShiftedDot.weight(gemm.pool(), p, dy, x, dw);
            return;
        }
        boolean direct = kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padTop() == 0
                && p.padLeft() == 0 && p.padBottom() == 0 && p.padRight() == 0;
        float[] cols = direct ? null : new float[rows * hwo];
        MemorySegment colSeg = direct ? null : MemorySegment.ofArray(cols);
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < g; gi++) {
                long xOff = x.offset() + ((long) b * c + (long) gi * cg) * hw;
                MemorySegment bSeg;
                long bOff;
                if (direct) {
                    bSeg = x.segment();
                    bOff = xOff;
                } else {
                    gemm.pool().parallelFor(cg, cc -> im2col(x.segment(), xOff + cc * hw, p, h, wd, oh, ow, cols, cc));
                    bSeg = colSeg;
                    bOff = 0;
                }
                // dw_g [mg × rows] (+)= dy_g [mg × hwo] · colsᵀ
                gemm.gemm(false, true, mg, rows, hwo, 1f, dy.segment(),
                        dy.offset() + ((long) b * m + (long) gi * mg) * hwo, hwo, bSeg, bOff, hwo, b == 0 ? 0f : 1f,
                        dw.segment(), dw.offset() + (long) gi * mg * rows, rows);
            }
        }
    }

    /** Writes the kh·kw rows of channel {@code cc} of the column matrix (zeros where the window is in padding). */
    private static void im2col(MemorySegment x, long plane, ConvParams p, int h, int w, int oh, int ow, float[] cols,
                               int cc) {
        int kh = p.kernelH(), kw = p.kernelW(), hwo = oh * ow, sw = p.strideW();
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int base = ((cc * kh + i) * kw + j) * hwo;
                int shift = j * p.dilationW() - p.padLeft();
                int lo = first(shift, sw, ow), hi = end(shift, sw, w, ow);
                for (int y = 0; y < oh; y++) {
                    int ih = y * p.strideH() - p.padTop() + i * p.dilationH();
                    int o = base + y * ow;
                    if (ih < 0 || ih >= h || lo >= hi) {
                        java.util.Arrays.fill(cols, o, o + ow, 0f);
                        continue;
                    }
                    // Reads only inside [lo, hi): no conditional read in the loop (see docs/architecture.md).
                    java.util.Arrays.fill(cols, o, o + lo, 0f);
                    java.util.Arrays.fill(cols, o + hi, o + ow, 0f);
                    long r = plane + (long) ih * w + shift;
                    if (sw == 1) {
                        MemorySegment.copy(x, F, (r + lo) * 4, cols, o + lo, hi - lo);
                    } else {
                        for (int xo = lo; xo < hi; xo++) {
                            cols[o + xo] = x.getAtIndex(F, r + (long) xo * sw);
                        }
                    }
                }
            }
        }
    }

    /** Adds channel {@code cc}'s rows of the column matrix back into its input plane (which it overwrites). */
    private static void col2im(float[] cols, int cc, ConvParams p, int h, int w, int oh, int ow, MemorySegment dx,
                               long plane) {
        int kh = p.kernelH(), kw = p.kernelW(), hwo = oh * ow, sw = p.strideW();
        float[] acc = new float[h * w];
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int base = ((cc * kh + i) * kw + j) * hwo;
                int shift = j * p.dilationW() - p.padLeft();
                int lo = first(shift, sw, ow), hi = end(shift, sw, w, ow);
                for (int y = 0; y < oh; y++) {
                    int ih = y * p.strideH() - p.padTop() + i * p.dilationH();
                    if (ih < 0 || ih >= h) {
                        continue;
                    }
                    int o = base + y * ow;
                    int r = ih * w + shift;
                    for (int xo = lo; xo < hi; xo++) {
                        acc[r + xo * sw] += cols[o + xo];
                    }
                }
            }
        }
        MemorySegment.copy(acc, 0, dx, F, plane * 4, acc.length);
    }

    /** The first output column whose input column {@code xo·stride + shift} is {@code >= 0}. */
    private static int first(int shift, int stride, int ow) {
        return shift >= 0 ? 0 : Math.min(ow, (-shift + stride - 1) / stride);
    }

    /** One past the last output column whose input column {@code xo·stride + shift} is {@code < w}. */
    private static int end(int shift, int stride, int w, int ow) {
        int span = w - shift;
        return span <= 0 ? 0 : Math.min(ow, (span + stride - 1) / stride);
    }

    /** Checks that a tensor is contiguous float32 of {@code shape}. */
    public static void check(String what, Tensor t, Shape shape) {
        if (t.dtype() != DType.FLOAT32 || !t.isContiguous() || !t.shape().equals(shape)) {
            throw new IllegalArgumentException(what + " must be contiguous float32 " + shape + "; got " + t);
        }
    }
}
