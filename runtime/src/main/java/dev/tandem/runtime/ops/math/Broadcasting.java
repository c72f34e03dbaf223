package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * The dtype-generic scalar path shared by the math ops: numpy broadcasting of any number of operands of any
 * strides, visited one innermost row at a time, plus type helpers. Not speed-critical: it serves int64 shape
 * arithmetic, int/bool ops and float64; float32 hot paths go through the vectorised kernels.
 */
final class Broadcasting {
    /** One innermost row of the output. */
    @FunctionalInterface
    interface Row {
        /**
         * @param offs     per operand, the element offset (relative to the operand tensor's own offset, as
         *                 {@link dev.tandem.runtime.ops.Elements} takes it) of the row's first element
         * @param steps    per operand, the element step along the row (0 when broadcast)
         * @param outIndex flat index of the row's first output element
         * @param len      elements in the row
         */
        void row(long[] offs, long[] steps, long outIndex, int len);
    }

    private Broadcasting() {
    }

    /** The numpy broadcast of all shapes. */
    static Shape shape(Shape... shapes) {
        Shape s = shapes[0];
        for (int i = 1; i < shapes.length; i++) {
            s = Shape.broadcast(s, shapes[i]);
        }
        return s;
    }

    /** The broadcast of the inputs' shapes, or a node error naming them. */
    static Shape shape(OpContext ctx, Shape... shapes) {
        try {
            return shape(shapes);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
    }

    /**
     * Visits the output of shape {@code out} row by row, each operand (whose shape must broadcast to {@code out})
     * stepping by its broadcast strides.
     */
    static void forEachRow(Shape out, Tensor[] ins, Row body) {
        if (out.size() == 0) {
            return;
        }
        int r = out.rank(), k = ins.length;
        long[][] st = new long[k][];
        for (int i = 0; i < k; i++) {
            st[i] = ins[i].broadcastTo(out).strides();
        }
        int inner = r == 0 ? 1 : out.dim(r - 1);
        long[] steps = new long[k];
        for (int i = 0; i < k; i++) {
            steps[i] = r == 0 ? 0 : st[i][r - 1];
        }
        long rows = out.size() / inner;
        int[] dims = out.dims();
        int[] idx = new int[Math.max(r - 1, 0)];
        long[] offs = new long[k];
        for (long row = 0; row < rows; row++) {
            body.row(offs, steps, row * inner, inner);
            for (int d = r - 2; d >= 0; d--) {
                idx[d]++;
                for (int i = 0; i < k; i++) {
                    offs[i] += st[i][d];
                }
                if (idx[d] < dims[d]) {
                    break;
                }
                for (int i = 0; i < k; i++) {
                    offs[i] -= st[i][d] * idx[d];
                }
                idx[d] = 0;
            }
        }
    }

    /**
     * Opset &lt; 7 broadcasting of binary ops: with attribute {@code broadcast=1}, B's dimensions line up with A's
     * from attribute {@code axis} (default: B's shape is a suffix of A's); without it the shapes must be equal.
     * Returns B's shape padded with 1s to A's rank, for numpy broadcasting to take over.
     */
    static Shape legacyShapeB(OpContext ctx, Shape a, Shape b) {
        if (ctx.attrInt("broadcast", 0) == 0) {
            if (!a.equals(b)) {
                throw ctx.fail("shapes " + a + " and " + b + " differ and attribute broadcast is not set");
            }
            return b;
        }
        int ra = a.rank(), rb = b.rank();
        long axis = ctx.hasAttr("axis") ? ctx.attrInt("axis", 0) : ra - rb;
        if (axis < 0) {
            axis += ra;
        }
        if (rb > ra || axis < 0 || axis + rb > ra) {
            throw ctx.fail("B of shape " + b + " cannot broadcast to A of shape " + a + " from axis "
                    + ctx.attrInt("axis", ra - rb));
        }
        int[] d = new int[ra];
        java.util.Arrays.fill(d, 1);
        for (int i = 0; i < rb; i++) {
            int da = a.dim((int) axis + i), db = b.dim(i);
            if (db != da && db != 1) {
                throw ctx.fail("B of shape " + b + " does not match A of shape " + a + " from axis " + axis);
            }
            d[(int) axis + i] = db;
        }
        return Shape.of(d);
    }

    /** {@code t} viewed with {@code shape} (same element count), copying only when it is not contiguous. */
    static Tensor reshaped(Tensor t, Shape shape) {
        if (t.shape().equals(shape)) {
            return t;
        }
        return t.contiguous().reshape(shape.dims());
    }

    /** True for the integer types and bool, which the generic path computes exactly in long. */
    static boolean isIntegral(DType t) {
        return !t.isFloatingPoint();
    }

    /** Smallest value of an integral type. */
    static long minOf(DType t) {
        return switch (t) {
            case INT64 -> Long.MIN_VALUE;
            case INT32 -> Integer.MIN_VALUE;
            case INT8 -> Byte.MIN_VALUE;
            case UINT8, BOOL -> 0;
            case FLOAT32, FLOAT64 -> throw new IllegalArgumentException(t + " is not integral");
        };
    }

    /** Largest value of an integral type. */
    static long maxOf(DType t) {
        return switch (t) {
            case INT64 -> Long.MAX_VALUE;
            case INT32 -> Integer.MAX_VALUE;
            case INT8 -> Byte.MAX_VALUE;
            case UINT8 -> 255;
            case BOOL -> 1;
            case FLOAT32, FLOAT64 -> throw new IllegalArgumentException(t + " is not integral");
        };
    }

    /** Fails (as unsupported) unless input {@code i} has one of {@code allowed} types; returns its type. */
    static DType requireAny(OpContext ctx, int i, DType... allowed) {
        return ctx.requireType(i, allowed);
    }

    /** Fails unless inputs {@code i} and {@code j} have the same type. */
    static void requireSameType(OpContext ctx, int i, int j) {
        if (ctx.dtype(i) != ctx.dtype(j)) {
            throw ctx.fail("inputs " + i + " and " + j + " must have the same type; got " + ctx.typeName(i)
                    + " and " + ctx.typeName(j));
        }
    }

    static final DType[] FLOATS = {DType.FLOAT32, DType.FLOAT64};
    static final DType[] NUMERIC = {DType.FLOAT32, DType.FLOAT64, DType.INT64, DType.INT32, DType.INT8, DType.UINT8};
    static final DType[] SIGNED = {DType.FLOAT32, DType.FLOAT64, DType.INT64, DType.INT32, DType.INT8};
    static final DType[] ALL = DType.values();
}
