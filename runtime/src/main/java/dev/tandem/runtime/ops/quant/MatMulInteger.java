package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * MatMulInteger (opset 10): {@code Y = (A − a_zero_point) · (B − b_zero_point)} in int32, A and B uint8 or int8,
 * numpy MatMul shapes; a_zero_point a scalar or one per row of A, b_zero_point a scalar or one per column of B
 * (both optional, default 0). Exact ({@link IntMatMul}).
 */
public final class MatMulInteger implements Op {
    @Override
    public String type() {
        return "MatMulInteger";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType ta = ctx.requireType(0, DType.UINT8, DType.INT8);
        DType tb = ctx.requireType(1, DType.UINT8, DType.INT8);
        IntMatMul mm = IntMatMul.of(ctx, ctx.shape(0), ctx.shape(1));
        checkZero(ctx, 2, ta, mm.m, "a_zero_point (one per row of A)");
        checkZero(ctx, 3, tb, mm.n, "b_zero_point (one per column of B)");
        Sgemm gemm = ctx.gemm();
        Scratch scratch = mm.scratch();
        return Prepared.of(DType.INT32, mm.out, (long) mm.batches() * mm.m * mm.n * mm.k, (in, out) -> {
            Tensor y = out[0];
            mm.run(gemm, scratch, in[0], ta == DType.UINT8, QuantSupport.zeros(QuantSupport.opt(in, 2), 1),
                    in[1], tb == DType.UINT8,
                    QuantSupport.zeros(QuantSupport.opt(in, 3), 1), (acc, off) -> {
                        for (int i = 0; i < acc.length; i++) {
                            y.segment().setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, y.offset() + off + i, acc[i]);
                        }
                    });
        });
    }

    static void checkZero(OpContext ctx, int i, DType t, int count, String what) {
        if (!ctx.hasInput(i)) {
            return;
        }
        ctx.requireType(i, t);
        long size = ctx.shape(i).size();
        if (size != 1 && !(ctx.shape(i).rank() == 1 && size == count)) {
            throw ctx.fail(what + " must be a scalar or 1-D of size " + count + "; got " + ctx.shape(i));
        }
    }
}
