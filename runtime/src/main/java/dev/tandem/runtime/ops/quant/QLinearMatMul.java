package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Scratch;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * QLinearMatMul (opsets 10, 21): {@code y = saturate(rint(acc · a_scale · b_scale / y_scale) + y_zero_point)} with
 * {@code acc = (a − a_zero_point) · (b − b_zero_point)} exact in int32 ({@link IntMatMul}); a, b and y uint8 or int8
 * (y's type is y_zero_point's). Scales and zero points of a per tensor or per row, of b per tensor or per column, of
 * y per tensor. The multiplier {@code a_scale · b_scale / y_scale} is computed in float32, as ONNX Runtime does.
 */
public final class QLinearMatMul implements Op {
    @Override
    public String type() {
        return "QLinearMatMul";
    }

    @Override
    public int minOpset() {
        return 10;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType ta = ctx.requireType(0, DType.UINT8, DType.INT8);
        DType tb = ctx.requireType(3, DType.UINT8, DType.INT8);
        DType ty = ctx.requireType(7, DType.UINT8, DType.INT8);
        IntMatMul mm = IntMatMul.of(ctx, ctx.shape(0), ctx.shape(3));
        for (int[] s : new int[][] {{1, mm.m}, {4, mm.n}, {6, 1}}) {
            ctx.requireType(s[0], DType.FLOAT32);
            long size = ctx.shape(s[0]).size();
            if (size != 1 && !(ctx.shape(s[0]).rank() == 1 && size == s[1])) {
                throw ctx.fail("scale input " + s[0] + " must be a scalar" + (s[1] > 1 ? " or 1-D of size " + s[1]
                        : "") + "; got " + ctx.shape(s[0]));
            }
        }
        MatMulInteger.checkZero(ctx, 2, ta, mm.m, "a_zero_point");
        MatMulInteger.checkZero(ctx, 5, tb, mm.n, "b_zero_point");
        MatMulInteger.checkZero(ctx, 7, ty, 1, "y_zero_point");
        boolean unsigned = ty == DType.UINT8;
        int lo = Quant.min(unsigned), hi = Quant.max(unsigned);
        Sgemm gemm = ctx.gemm();
        Scratch scratch = mm.scratch();
        int m = mm.m, n = mm.n;
        return Prepared.of(ty, mm.out, (long) mm.batches() * m * n * mm.k, (in, out) -> {
            float[] as = QuantSupport.floats(in[1]), bs = QuantSupport.floats(in[4]);
            float ys = QuantSupport.floats(in[6])[0];
            int yz = QuantSupport.zeros(QuantSupport.opt(in, 7), 1)[0];
            float[] mult = new float[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    mult[i * n + j] = as[as.length == 1 ? 0 : i] * bs[bs.length == 1 ? 0 : j] / ys;
                }
            }
            Tensor y = out[0];
            MemorySegment seg = y.segment();
            mm.run(gemm, scratch, in[0], ta == DType.UINT8, QuantSupport.zeros(QuantSupport.opt(in, 2), 1),
                    in[3], tb == DType.UINT8,
                    QuantSupport.zeros(QuantSupport.opt(in, 5), 1), (acc, off) -> {
                        for (int i = 0; i < acc.length; i++) {
                            float v = Math.min(Math.max(acc[i] * mult[i], lo - yz), hi - yz);
                            seg.set(ValueLayout.JAVA_BYTE, y.offset() + off + i, (byte) ((int) Math.rint(v) + yz));
                        }
                    });
        });
    }
}
