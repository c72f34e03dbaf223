package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Int8Format;
import dev.tandem.runtime.kernels.Int8Gemv;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.PackedWeights;
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
 * → QuantizeLinear}, or from {@code DequantizeLinear → Gemm/MatMul} whose float result is not quantized again (a
 * classifier's last layer). Inputs as {@link QConv}: x {@code [..., K]} (8-bit, rank ≥ 2), x_scale, x_zero_point, w
 * (8-bit, {@code [K, N]}, or {@code [N, K]} with {@code transB = 1}; must be known at plan time), w_scale and
 * w_zero_point (scalar or one per output column), y_scale, y_zero_point (both absent: float32 output), B (optional
 * float32, N values or one); the activation attributes of {@link QConv}. Output {@code [..., N]}:
 * {@code y = saturate(rint(clamp(acc · x_scale · w_scale[j] / y_scale + B[j] / y_scale)) + y_zero)}, or for float32
 * output {@code clamp(acc · x_scale · w_scale[j] + B[j])}.
 *
 * <p>Runs, for at most {@link #GEMV_ROWS} rows (batch 1), as a pass over the weights kept as bytes ({@link Int8Gemv}:
 * a quarter of the float matrix's bytes, the input widened once); otherwise as {@code Cᵀ = (w − w_zero)ᵀ ·
 * (x − x_zero)ᵀ} on {@link Sgemm} with the weights packed once as integer-valued floats (see
 * {@link dev.tandem.runtime.kernels.Quant} for why floats). Then requantizes per column.
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
        boolean floatOut = !ctx.hasInput(6) && !ctx.hasInput(7);
        DType ty = floatOut ? DType.FLOAT32 : ctx.hasInput(7) ? ctx.requireType(7, DType.UINT8, DType.INT8)
                : DType.UINT8;
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
        if (floatOut) {
            QLinearConv.checkScales(ctx, 1, 4, 1, n);
        } else {
            QLinearConv.checkScales(ctx, 1, 4, 6, n);
        }
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
        boolean xu = tx == DType.UINT8, wu = tw == DType.UINT8;
        int[] wz = QuantSupport.zeros(ctx.constant(5), 1);
        int lo = Quant.min(ty == DType.UINT8), hi = Quant.max(ty == DType.UINT8);
        Output output = in -> {
            float xs = QuantSupport.floats(in[1])[0];
            float[] wsc = QuantSupport.floats(in[4]);
            float[] bias = hasBias ? QuantSupport.floats(in[8]) : null;
            float[] mult = new float[n], add = new float[n];
            float ys = floatOut ? 1f : QuantSupport.floats(in[6])[0];
            int yz = floatOut ? 0 : QuantSupport.zeros(QuantSupport.opt(in, 7), 1)[0];
            for (int j = 0; j < n; j++) {
                mult[j] = xs * wsc[wsc.length == 1 ? 0 : j] / ys;
                add[j] = bias == null ? 0f : bias[bias.length == 1 ? 0 : j] / ys;
            }
            float fl, fh;
            if (floatOut) {
                fl = clamp == null ? Float.NEGATIVE_INFINITY : clamp[0];
                fh = clamp == null ? Float.POSITIVE_INFINITY : clamp[1];
            } else {
                int[] range = QConv.range(clamp, ys, yz, lo, hi);
                fl = range[0] - yz;
                fh = range[1] - yz;
            }
            return new Epilogue(mult, add, wz, fl, fh, yz, floatOut);
        };
        // Both layouts are built once per model (PackedWeights: every plan shares them) and counted as held.
        if (rows <= GEMV_ROWS) {
            Int8Gemv gemv = ctx.packs().get(new PackKey(ctx.node(), false, k, n), () -> {
                PackedWeights.requireUnreleased(ctx, ctx.node().opType(), wConst);
                Tensor wc = wConst.contiguous();
                try {
                    // stored [N, K] with transB (row j of the product is row j of w), else [K, N]
                    return new Int8Gemv(wc.segment(), wc.offset(), k, n, transB ? 1 : n, transB ? k : 1, wu);
                } finally {
                    if (wc != wConst) {
                        wc.close();
                    }
                }
            }, Int8Gemv::byteSize);
            ThreadLocal<float[]> xf = ThreadLocal.withInitial(() -> new float[rows * k]);
            return Prepared.of(ty, outShape, (long) rows * n * k, (in, out) -> {
                Epilogue ep = output.params(in);
                int xz = QuantSupport.zeros(QuantSupport.opt(in, 2), 1)[0];
                Tensor xc = in[0].contiguous();
                float[] xv = xf.get();
                float[] sums = new float[rows];
                try {
                    Quant.toFloats(xc.segment(), xc.offset(), new Int8Format(xu, xz), xv, 0, rows * k);
                } finally {
                    if (xc != in[0]) {
                        xc.close();
                    }
                }
                for (int r = 0; r < rows; r++) {
                    float sum = 0;
                    for (int i = 0; i < k; i++) {
                        sum += xv[r * k + i];
                    }
                    sums[r] = sum;
                }
                MemorySegment ys8 = out[0].segment();
                long yo = out[0].offset();
                gemv.run(ctx.pool(), xv, rows, (r, j0, acc, count) -> {
                    for (int c = 0; c < count; c++) {
                        ep.store(acc[c], r, j0 + c, n, sums[r], ys8, yo);
                    }
                });
            });
        }
        Sgemm.PackedA packed = ctx.packs().get(new PackKey(ctx.node(), true, k, n), () -> {
            PackedWeights.requireUnreleased(ctx, ctx.node().opType(), wConst);
            return pack(wConst, wu, wz, transB, k, n);
        }, Sgemm.PackedA::byteSize);
        Sgemm gemm = ctx.gemm();
        Scratch scratch = new Scratch(4L * rows * (k + n));
        return Prepared.of(ty, outShape, (long) rows * n * k, (in, out) -> {
            Epilogue ep = output.params(in);
            int xz = QuantSupport.zeros(QuantSupport.opt(in, 2), 1)[0];
            Tensor xc = in[0].contiguous();
            MemorySegment buf = scratch.take();
            try {
                long ct = (long) rows * k;
                Quant.dequantize(xc.segment(), xc.offset(), xu, xz, 1f, buf, 0, ct);
                // the packed weights already hold w − w_zero: no correction
                gemm.gemm(packed, true, rows, 1f, buf, 0, k, 0f, buf, ct, rows, null, Activation.NONE);
                MemorySegment ys8 = out[0].segment();
                long yo = out[0].offset();
                for (int j = 0; j < n; j++) {
                    for (int r = 0; r < rows; r++) {
                        float acc = buf.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ct + (long) j * rows + r);
                        ep.store(acc, r, j, n, 0f, ys8, yo);
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

    /** Rows up to which a run streams the 8-bit weights ({@link Int8Gemv}) instead of a packed GEMM. */
    static final int GEMV_ROWS = 4;

    /** The epilogue's parameters from a run's inputs (scales, zero points and bias may be run-time values). */
    private interface Output {
        Epilogue params(Tensor[] in);
    }

    /**
     * Per-column requantization of a run: {@code v = (acc − w_zero[j] · Σx) · mult[j] + add[j]}, clamped to
     * {@code [lo, hi]}; stored as {@code rint(v) + zero} (8-bit) or {@code v} (float32, real units).
     */
    private record Epilogue(float[] mult, float[] add, int[] wz, float lo, float hi, int zero, boolean floatOut) {
        void store(float acc, int r, int j, int n, float xSum, MemorySegment y, long yo) {
            int z = wz[wz.length == 1 ? 0 : j];
            float a = z == 0 ? acc : acc - z * xSum;
            float v = Math.fma(a, mult[j], add[j]);
            float c = v >= lo ? v : lo;
            c = c > hi ? hi : c;
            long i = (long) r * n + j;
            if (floatOut) {
                y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, yo + i, c);
            } else {
                y.set(ValueLayout.JAVA_BYTE, yo + i, (byte) ((int) Math.rint(c) + zero));
            }
        }
    }

    /** What {@link PackedWeights} keeps a node's weights under: the byte panels ({@code floats} false) or the GEMM's. */
    private record PackKey(Node node, boolean floats, int k, int n) {
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
