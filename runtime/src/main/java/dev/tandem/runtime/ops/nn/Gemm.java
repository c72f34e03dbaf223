package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.reference.ReferenceGemm;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.PackedWeights;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Gemm (opset 6+), float32 and float64: {@code Y = alpha · op(A) · op(B) + beta · C} with transA/transB and C
 * unidirectionally broadcast to {@code [M, N]} (optional from opset 11; opset 6's {@code broadcast} attribute only
 * restricts valid models, so broadcasting is always allowed). Float32 paths: constant B is laid out once per model
 * as {@link Gemv}'s column panels (the graph's copy is then freed, {@link PackedWeights}); up to
 * {@link Gemv#MAX_ROWS} rows (a batch-1 classifier) run {@link Gemv} on them, more rows a GEMM that packs its panels
 * from them ({@link Sgemm#gemmColumnPanels}); constant A is packed once ({@link Sgemm#packA}); otherwise a plain
 * {@link Sgemm} call. Float64 runs the scalar {@link ReferenceGemm}.
 */
public final class Gemm implements Op {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public String type() {
        return "Gemm";
    }

    @Override
    public int minOpset() {
        return 6;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        Shape a = ctx.shape(0), b = ctx.shape(1);
        if (a.rank() != 2 || b.rank() != 2) {
            throw ctx.fail("Gemm needs 2-D A and B; got " + a + " and " + b);
        }
        boolean ta = ctx.attrInt("transA", 0) != 0, tb = ctx.attrInt("transB", 0) != 0;
        float alpha = ctx.attrFloat("alpha", 1f), beta = ctx.attrFloat("beta", 1f);
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
        int kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
        if (k != kb) {
            throw ctx.fail("Gemm inner dimensions differ: op(A) is " + m + "×" + k + ", op(B) is " + kb + "×" + n);
        }
        Shape outShape = Shape.of(m, n);
        boolean hasC = ctx.hasInput(2) && beta != 0f;
        if (hasC) {
            ctx.requireType(2, t);
            Shape c = ctx.shape(2);
            if (c.rank() > 2 || !broadcastsTo(c, m, n)) {
                throw ctx.fail("Gemm C of shape " + c + " does not broadcast to " + outShape);
            }
        }
        float betaRun = hasC ? beta : 0f;
        int lda = a.dim(1), ldb = b.dim(1);
        long macs = (long) m * n * k;
        if (t == DType.FLOAT64) {
            return Prepared.of(t, outShape, macs, (in, out) -> {
                double[] y = new double[m * n];
                if (hasC) {
                    broadcastC(Elements.toDoubles(in[2]), in[2].shape(), y, m, n);
                }
                ReferenceGemm.gemm(ta, tb, m, n, k, alpha, Elements.toDoubles(in[0]), 0, lda,
                        Elements.toDoubles(in[1]), 0, ldb, betaRun, y, 0, n);
                Elements.setDoubles(out[0], y);
            });
        }
        Sgemm gemm = ctx.gemm();
        Tensor bConst = ctx.constant(1), aConst = ctx.constant(0);
        Kernel kernel;
        if (bConst != null && k > 0) {
            // B laid out once per model (PackedWeights) as Gemv's column panels: batch 1 streams them, larger
            // batches pack GEMM panels from them; the graph's copy is then never read again, and freed.
            Gemv gemv = ctx.packs().get(new PackKey(ctx.node(), tb, k, n), () -> {
                PackedWeights.requireUnreleased(ctx, "Gemm", bConst);
                Tensor bc = bConst.contiguous();
                try {
                    return new Gemv(tb, k, n, bc.segment(), bc.offset(), ldb);
                } finally {
                    closeCopy(bc, bConst);
                }
            }, Gemv::byteSize);
            ctx.packs().packedOnly(ctx.node(), 1);
            if (m <= Gemv.MAX_ROWS) {
                kernel = (in, out) -> {
                    if (hasC) {
                        fillBroadcast(in[2], out[0], m, n);
                    }
                    float[] rows = rows(in[0], ta, m, k);
                    gemv.run(gemm.pool(), rows, m, alpha, betaRun, out[0].segment(), out[0].offset());
                };
            } else {
                kernel = (in, out) -> {
                    if (hasC) {
                        fillBroadcast(in[2], out[0], m, n);
                    }
                    Tensor at = in[0].contiguous();
                    gemm.gemmColumnPanels(ta, m, n, k, alpha, at.segment(), at.offset(), lda, gemv.panels(), Gemv.PW,
                            betaRun, out[0].segment(), out[0].offset(), n);
                    closeCopy(at, in[0]);
                };
            }
        } else if (aConst != null && m > 0 && k > 0) {
            Tensor ac = aConst.contiguous();
            Sgemm.PackedA pa = Sgemm.packA(ta, m, k, ac.segment(), ac.offset(), lda);
            closeCopy(ac, aConst);
            kernel = (in, out) -> {
                if (hasC) {
                    fillBroadcast(in[2], out[0], m, n);
                }
                Tensor bt = in[1].contiguous();
                gemm.gemm(pa, tb, n, alpha, bt.segment(), bt.offset(), ldb, betaRun, out[0].segment(),
                        out[0].offset(), n, null, Activation.NONE);
                closeCopy(bt, in[1]);
            };
        } else {
            kernel = (in, out) -> {
                if (hasC) {
                    fillBroadcast(in[2], out[0], m, n);
                }
                Tensor at = in[0].contiguous(), bt = in[1].contiguous();
                gemm.gemm(ta, tb, m, n, k, alpha, at.segment(), at.offset(), lda, bt.segment(), bt.offset(), ldb,
                        betaRun, out[0].segment(), out[0].offset(), n);
                closeCopy(at, in[0]);
                closeCopy(bt, in[1]);
            };
        }
        return Prepared.of(DType.FLOAT32, outShape, macs, kernel);
    }

    private record PackKey(dev.tandem.runtime.graph.Node node, boolean transB, int k, int n) {
    }

    static void closeCopy(Tensor copy, Tensor original) {
        if (copy != original) {
            copy.close();
        }
    }

    /** The m rows of op(A) (k values each) as one array. */
    static float[] rows(Tensor a, boolean trans, int m, int k) {
        Tensor t = trans ? a.transpose(0, 1) : a;
        if (t.isContiguous()) {
            float[] r = new float[m * k];
            MemorySegment.copy(t.segment(), FL, t.offset() * 4, r, 0, r.length);
            return r;
        }
        return t.toFloatArray();
    }

    private static boolean broadcastsTo(Shape c, int m, int n) {
        int[] target = {m, n};
        for (int i = 0; i < c.rank(); i++) {
            int d = c.dim(c.rank() - 1 - i), t = target[1 - i];
            if (d != 1 && d != t) {
                return false;
            }
        }
        return true;
    }

    /** C (rank <= 2, of shape {@code cs}, broadcastable) stretched into the row-major m×n {@code y}. */
    private static void broadcastC(double[] c, Shape cs, double[] y, int m, int n) {
        int rows = cs.rank() == 2 ? cs.dim(0) : 1;
        int cols = cs.rank() >= 1 ? cs.dim(cs.rank() - 1) : 1;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                y[i * n + j] = c[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
            }
        }
    }

    /** Writes C (rank <= 2, broadcastable) into the contiguous m×n output. */
    static void fillBroadcast(Tensor c, Tensor out, int m, int n) {
        Tensor cc = c.contiguous();
        try {
            int rows = cc.rank() == 2 ? cc.shape().dim(0) : 1;
            int cols = cc.rank() >= 1 ? cc.shape().dim(cc.rank() - 1) : 1;
            MemorySegment src = cc.segment(), dst = out.segment();
            long so = cc.offset(), o = out.offset();
            for (int i = 0; i < m; i++) {
                long srow = so + (long) (rows == 1 ? 0 : i) * cols;
                long drow = o + (long) i * n;
                if (cols == n) {
                    MemorySegment.copy(src, srow * 4, dst, drow * 4, (long) n * 4);
                } else {
                    float v = src.getAtIndex(FL, srow);
                    dst.asSlice(drow * 4, (long) n * 4).fill((byte) 0);
                    if (v != 0f) {
                        for (int j = 0; j < n; j++) {
                            dst.setAtIndex(FL, drow + j, v);
                        }
                    }
                }
            }
        } finally {
            closeCopy(cc, c);
        }
    }
}
