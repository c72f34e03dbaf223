package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Pad (opset 2+), any type: modes constant, reflect and edge ("wrap" is unsupported). Before opset 11 the pads and
 * value are attributes; from 11 inputs (pads must be known at plan time; constant_value may be run-time), with
 * opset 18's axes. Negative pads crop. Each output row (last axis) is copied as runs of contiguous source elements
 * and constant stretches, byte-wise, so every type costs the same.
 */
public final class Pad implements Op {
    @Override
    public String type() {
        return "Pad";
    }

    @Override
    public int minOpset() {
        return 2;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType dt = ctx.dtype(0);
        Shape x = ctx.shape(0);
        int r = x.rank();
        String mode = ctx.attrString("mode", "constant");
        if (!mode.equals("constant") && !mode.equals("reflect") && !mode.equals("edge")) {
            throw ctx.unsupported("Pad mode '" + mode + "' (supported: constant, reflect, edge)");
        }
        long[] padsIn;
        double attrValue = 0;
        boolean valueInput = false;
        int[] axes;
        if (ctx.opset() < 11) {
            padsIn = ctx.attrInts("pads");
            if (padsIn == null) {
                throw ctx.fail("Pad needs the pads attribute");
            }
            attrValue = ctx.attrFloat("value", 0f);
            axes = null;
        } else {
            padsIn = ctx.constantLongs(1, "Pad's pads");
            valueInput = ctx.hasInput(2) && ctx.shape(2).size() > 0;
            if (ctx.hasInput(3)) {
                long[] ax = ctx.constantLongs(3, "Pad's axes");
                axes = new int[ax.length];
                for (int i = 0; i < ax.length; i++) {
                    long a = ax[i] < 0 ? ax[i] + r : ax[i];
                    if (a < 0 || a >= r) {
                        throw ctx.fail("axis " + ax[i] + " out of range for rank " + r);
                    }
                    axes[i] = (int) a;
                }
            } else {
                axes = null;
            }
        }
        int na = axes == null ? r : axes.length;
        if (padsIn.length != 2 * na) {
            throw ctx.fail("pads must have " + 2 * na + " values; got " + padsIn.length);
        }
        int[] begin = new int[r], end = new int[r];
        for (int i = 0; i < na; i++) {
            int a = axes == null ? i : axes[i];
            begin[a] = Math.toIntExact(padsIn[i]);
            end[a] = Math.toIntExact(padsIn[i + na]);
        }
        int[] od = new int[r];
        for (int i = 0; i < r; i++) {
            od[i] = x.dim(i) + begin[i] + end[i];
            if (od[i] < 0) {
                throw ctx.fail("pads " + java.util.Arrays.toString(padsIn) + " crop axis " + i + " below zero");
            }
            if (!mode.equals("constant") && od[i] > 0 && x.dim(i) == 0) {
                throw ctx.fail("Pad mode " + mode + " cannot pad an empty axis");
            }
        }
        Shape outShape = Shape.of(od);
        // per axis: output index -> source index, -1 for the constant
        int[][] map = new int[r][];
        for (int a = 0; a < r; a++) {
            int n = x.dim(a);
            map[a] = new int[od[a]];
            for (int o = 0; o < od[a]; o++) {
                int i = o - begin[a];
                if (i < 0 || i >= n) {
                    switch (mode) {
                        case "constant" -> i = -1;
                        case "edge" -> i = Math.max(0, Math.min(n - 1, i));
                        default -> {
                            if (n == 1) {
                                i = 0;
                            }
                            while (i < 0 || i >= n) {
                                i = i < 0 ? -i : 2 * (n - 1) - i;
                            }
                        }
                    }
                }
                map[a][o] = i;
            }
        }
        boolean hasValueInput = valueInput;
        double value = attrValue;
        Tensor valueConst = hasValueInput ? ctx.constant(2) : null;
        int bs = dt.byteSize();
        if (r == 0) {
            return Prepared.of(dt, outShape, (in, out) -> out[0].copyFrom(in[0]));
        }
        int last = od[r - 1];
        // runs of the last axis: {outStart, srcStart (-1 constant), length}
        List<int[]> runs = new ArrayList<>();
        for (int o = 0; o < last; ) {
            int s = map[r - 1][o];
            int len = 1;
            while (o + len < last && (s < 0 ? map[r - 1][o + len] < 0 : map[r - 1][o + len] == s + len)) {
                len++;
            }
            runs.add(new int[] {o, s, len});
            o += len;
        }
        long[] srcStrides = x.contiguousStrides();
        long outRows = last == 0 ? 0 : outShape.size() / last;
        return Prepared.of(dt, outShape, (in, out) -> {
            Tensor xc = in[0].contiguous();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment constRow = arena.allocate(Math.max(1, (long) last * bs));
                Tensor cr = Tensor.wrap(constRow, 0, dt, Shape.of(Math.max(1, last)));
                double v = value;
                long vl = (long) value;
                boolean useLong = false;
                if (hasValueInput) {
                    Tensor vt = valueConst != null ? valueConst : in[2];
                    Tensor vc = vt.contiguous();
                    v = Elements.getDouble(vc, 0);
                    vl = Elements.getLong(vc, 0);
                    useLong = !dt.isFloatingPoint();
                    Gemm.closeCopy(vc, vt);
                }
                for (int i = 0; i < last; i++) {
                    if (useLong) {
                        Elements.setLong(cr, i, vl);
                    } else {
                        Elements.setDouble(cr, i, v);
                    }
                }
                MemorySegment src = xc.segment(), dst = out[0].segment();
                long so = xc.offset() * bs, d0 = out[0].offset() * bs;
                int[] idx = new int[r - 1];
                for (long row = 0; row < outRows; row++) {
                    long srcRow = 0;
                    boolean constant = false;
                    for (int a = 0; a < r - 1; a++) {
                        int s = map[a][idx[a]];
                        if (s < 0) {
                            constant = true;
                            break;
                        }
                        srcRow += s * srcStrides[a];
                    }
                    long dRow = d0 + row * last * bs;
                    if (constant) {
                        MemorySegment.copy(constRow, 0, dst, dRow, (long) last * bs);
                    } else {
                        for (int[] run : runs) {
                            if (run[1] < 0) {
                                MemorySegment.copy(constRow, 0, dst, dRow + (long) run[0] * bs, (long) run[2] * bs);
                            } else {
                                MemorySegment.copy(src, so + (srcRow + run[1]) * bs, dst, dRow + (long) run[0] * bs,
                                        (long) run[2] * bs);
                            }
                        }
                    }
                    for (int a = r - 2; a >= 0; a--) {
                        if (++idx[a] < od[a]) {
                            break;
                        }
                        idx[a] = 0;
                    }
                }
            } finally {
                Gemm.closeCopy(xc, in[0]);
            }
        });
    }
}
