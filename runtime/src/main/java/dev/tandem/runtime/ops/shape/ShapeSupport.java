package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.OpContext;

/** Small helpers shared by the shape ops. */
final class ShapeSupport {
    private ShapeSupport() {
    }

    /** {@code a} normalised into {@code [0, rank)}, failing with the node's name when out of range. */
    static int axis(OpContext ctx, long a, int rank) {
        long x = a < 0 ? a + rank : a;
        if (x < 0 || x >= rank) {
            throw ctx.fail("axis " + a + " out of range for rank " + rank);
        }
        return (int) x;
    }

    /** Product of {@code dims[from:to]}. */
    static long product(int[] dims, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= dims[i];
        }
        return p;
    }

    static int toInt(OpContext ctx, long v, String what) {
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw ctx.fail(what + " " + v + " out of range");
        }
        return (int) v;
    }
}
