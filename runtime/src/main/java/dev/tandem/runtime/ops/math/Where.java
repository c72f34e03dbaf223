package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Where (opset 9+): {@code cond ? X : Y} elementwise, the three inputs broadcast together (numpy rules). {@code
 * cond} is bool; X and Y share any one type, which the output has. Elements are copied bit for bit.
 */
final class Where implements Op {
    @Override
    public String type() {
        return "Where";
    }

    @Override
    public int minOpset() {
        return 9;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.BOOL);
        Broadcasting.requireSameType(ctx, 1, 2);
        DType t = ctx.dtype(1);
        Shape out = Broadcasting.shape(ctx, ctx.shape(0), ctx.shape(1), ctx.shape(2));
        int bytes = t.byteSize();
        return Prepared.of(t, out, (in, o) -> {
            Tensor c = in[0], x = in[1], y = in[2], r = o[0];
            MemorySegment cs = c.segment(), xs = x.segment(), ys = y.segment(), rs = r.segment();
            long co = c.offset(), xo = x.offset(), yo = y.offset(), ro = r.offset();
            Broadcasting.forEachRow(out, new Tensor[]{c, x, y}, (offs, steps, oi, len) -> {
                long pc = co + offs[0], px = xo + offs[1], py = yo + offs[2];
                for (int j = 0; j < len; j++, pc += steps[0], px += steps[1], py += steps[2]) {
                    boolean pick = cs.get(ValueLayout.JAVA_BYTE, pc) != 0;
                    MemorySegment src = pick ? xs : ys;
                    long at = pick ? px : py;
                    long dst = ro + oi + j;
                    switch (bytes) {
                        case 1 -> rs.set(ValueLayout.JAVA_BYTE, dst, src.get(ValueLayout.JAVA_BYTE, at));
                        case 4 -> rs.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, dst,
                                src.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, at));
                        default -> rs.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, dst,
                                src.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, at));
                    }
                }
            });
        });
    }
}
