package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code dev.tandem.QGemm}: a quantized fully connected layer with a float bias and an optional fused clamp, which
 * {@link dev.tandem.runtime.graph.passes.QdqFusion} makes from {@code DequantizeLinear → Gemm/MatMul [→ Relu | Clip]
 * → QuantizeLinear}. Inputs as {@link QConv}: x {@code [..., K]} (8-bit, rank ≥ 2), x_scale, x_zero_point, w (8-bit,
 * {@code [K, N]}, or {@code [N, K]} with {@code transB = 1}; must be known at plan time), w_scale and w_zero_point
 * (scalar or one per output column), y_scale, y_zero_point, B (optional float32, N values or one); the activation
 * attributes of {@link QConv}. Output {@code [..., N]}: {@code y = saturate(rint(clamp(acc · x_scale · w_scale[j] /
 * y_scale + B[j] / y_scale)) + y_zero)}.
 *
 * <p>Runs as {@code Cᵀ = (w − w_zero)ᵀ · (x − x_zero)ᵀ} on {@link Sgemm} with the weights packed once as
 * integer-valued floats (see {@link dev.tandem.runtime.kernels.Quant} for why floats), then requantizes.
 */
public final class QGemm implements Op {
    @Override
    public String type() {
        return "QGemm";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType tx = ctx.requireType(0, DType.UINT8, DType.INT8);
        DType tw = ctx.requireType(3, DType.UINT8, DType.INT8);
        DType ty = ctx.hasInput(7) ? ctx.requireType(7, DType.UINT8, DType.INT8) : DType.UINT8;
        boolean transB = ctx.attrInt("transB", 0) != 0;
        Shape x = ctx.shape(0), ws = ctx.shape(3);
        if (x.rank() < 2 || ws.rank() != 2) {
            throw ctx.fail("QGemm needs x of rank >= 2 and 2-D weights; got " + x + " and " + ws);
        }
        int k = x.dim(x.rank() - 1);
        int kw = transB ? ws.dim(1) : ws.dim(0), n = transB ? ws.dim(0) : ws.dim(1);
        if (k != kw) {
            throw ctx.fail("QGemm inner dimensions differ: " + x + " × " + ws + (transB ? " (transposed)" : ""));
        }
        QLinearConv.checkScales(ctx, 1, 4, 6, n);
        boolean hasBias = ctx.hasInput(8);
        if (hasBias) {
            ctx.requireType(8, DType.FLOAT32);
            long s = ctx.shape(8).size();
            if (s != n && s != 1) {
                throw ctx.fail("QGemm bias must have " + n + " values or one; got " + ctx.shape(8));
            }
        }
        Tensor wConst = ctx.constant(3);
        if (wConst == null || ctx.hasInput(5) && ctx.constant(5) == null) {
            throw ctx.unsupported("QGemm weights must be known before the model runs");
        }
        float[] clamp = QConv.clamp(ctx);
        int rows = Math.toIntExact(x.size() / k);
        int[] od = x.dims();
        od[od.length - 1] = n;
        Shape outShape = Shape.of(od);
        Sgemm.PackedA packed = pack(wConst, tw == DType.UINT8, QuantSupport.zeros(ctx.constant(5), 1), transB, k,
                n);
        boolean xu = tx == DType.UINT8;
        int lo = Quant.min(ty == DType.UINT8), hi = Quant.max(ty == DType.UINT8);
        Sgemm gemm = ctx.gemm();
        Scratch scratch = new Scratch(4L * rows * (k + n));
        return Prepared.of(ty, outShape, (long) rows * n * k, (in, out) -> {
            float[][] mp = QConv.epilogue(in, n, false);
            float ys = QuantSupport.floats(in[6])[0];
            float[] bias = hasBias ? QuantSupport.floats(in[8]) : null;
            int xz = QuantSupport.zeros(QuantSupport.opt(in, 2), 1)[0];
            int yz = QuantSupport.zeros(QuantSupport.opt(in, 7), 1)[0];
            int[] range = QConv.range(clamp, ys, yz, lo, hi);
            Tensor xc = in[0].contiguous();
            MemorySegment buf = scratch.take();
            try {
                long ct = (long) rows * k;
                Quant.dequantize(xc.segment(), xc.offset(), xu, xz, 1f, buf, 0, ct);
                gemm.gemm(packed, true, rows, 1f, buf, 0, k, 0f, buf, ct, rows, null, Activation.NONE);
                MemorySegment ys8 = out[0].segment();
                long yo = out[0].offset();
                float fl = range[0] - yz, fh = range[1] - yz;
                for (int j = 0; j < n; j++) {
                    float mult = mp[0][j];
                    float add = bias == null ? 0 : bias[bias.length == 1 ? 0 : j] / ys;
                    for (int r = 0; r < rows; r++) {
                        float v = Math.fma(buf.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ct + (long) j * rows + r),
                                mult, add);
                        v = Math.min(Math.max(v, fl), fh);
                        ys8.set(ValueLayout.JAVA_BYTE, yo + (long) r * n + j, (byte) ((int) Math.rint(v) + yz));
                    }
                }
            } finally {
                scratch.give(buf);
                if (xc != in[0]) {
                    xc.close();
                }
            }
        });
    }

    /** {@code (w − zero)ᵀ} as integer-valued floats, packed as the GEMM's left operand ({@code N × K}). */
    private static Sgemm.PackedA pack(Tensor w, boolean unsigned, int[] zero, boolean transB, int k, int n) {
        Tensor wc = w.contiguous();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = arena.allocate(4L * k * n, 64);
            long count = (long) k * n;
            if (zero.length == 1) {
                Quant.dequantize(wc.segment(), wc.offset(), unsigned, zero[0], 1f, f, 0, count);
            } else {
                for (long i = 0; i < count; i++) {
                    int col = (int) (transB ? i / k : i % n);
                    int q = wc.segment().get(ValueLayout.JAVA_BYTE, wc.offset() + i);
                    f.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (unsigned ? q & 0xFF : q) - zero[col]);
                }
            }
            // transB: stored [N, K] = A itself; else stored [K, N] = Aᵀ
            return transB ? Sgemm.packA(false, n, k, f, 0, k) : Sgemm.packA(true, n, k, f, 0, n);
        } finally {
            if (wc != w) {
                wc.close();
            }
        }
    }
}
