package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/** Scale and zero-point handling shared by the quantization ops. */
final class QuantSupport {
    private QuantSupport() {
    }

    static boolean isEightBit(DType t) {
        return t == DType.UINT8 || t == DType.INT8;
    }

    /**
     * Checks a scale input (float32, a scalar or one value per element of {@code axisLen} along the quantized
     * axis) and its zero point input (optional, {@code zpTypes}, the scale's shape); returns whether it is per-axis.
     *
     * @param axisLen the size of the quantized axis, or -1 when only per-tensor is allowed
     */
    static boolean checkScale(OpContext ctx, int scaleInput, int zpInput, int axisLen, String what) {
        ctx.requireType(scaleInput, DType.FLOAT32);
        Shape s = ctx.shape(scaleInput);
        boolean perAxis;
        if (s.size() == 1 && s.rank() <= 1) {
            perAxis = false;
        } else if (s.rank() == 1 && axisLen >= 0 && s.dim(0) == axisLen) {
            perAxis = true;
        } else {
            throw ctx.fail(what + " scale must be a scalar" + (axisLen >= 0 ? " or 1-D of size " + axisLen : "")
                    + "; got " + s);
        }
        if (zpInput >= 0 && ctx.hasInput(zpInput) && ctx.shape(zpInput).size() != s.size()) {
            throw ctx.fail(what + " zero point must have the scale's shape " + s + "; got " + ctx.shape(zpInput));
        }
        return perAxis;
    }

    /** The values of a zero-point tensor (null: {@code n} zeros), widened to int (uint8 as unsigned). */
    static int[] zeros(Tensor t, int n) {
        if (t == null) {
            return new int[n];
        }
        long[] v = Elements.toLongs(t);
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (int) v[i];
        }
        return out;
    }

    /** Input {@code i} of a run, or null when the node lists fewer inputs. */
    static Tensor opt(Tensor[] in, int i) {
        return i < in.length ? in[i] : null;
    }

    static float[] floats(Tensor t) {
        return Elements.toFloats(t);
    }

    /** The quantized axis (negative counts from the end) checked against the rank. */
    static int axis(OpContext ctx, int rank, long def) {
        long a = ctx.attrInt("axis", def);
        if (a < -rank || a >= Math.max(rank, 1)) {
            throw ctx.fail("axis " + a + " is out of range for rank " + rank);
        }
        return (int) (a < 0 ? a + rank : a);
    }

    /** {@code [outer, axisLen, inner]} of {@code shape} split at {@code axis}. */
    static long[] split(Shape shape, int axis) {
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape.dim(i);
        }
        for (int i = axis + 1; i < shape.rank(); i++) {
            inner *= shape.dim(i);
        }
        return new long[] {outer, shape.rank() == 0 ? 1 : shape.dim(axis), inner};
    }

    /** Elements per task below which the element-wise int8 ops stay on the calling thread. */
    private static final long PARALLEL_MIN = 1 << 15;

    /** A range of elements: {@code [from, from + count)}. */
    interface Range {
        void run(long from, long count);
    }

    /** Runs {@code body} over {@code [0, count)} in contiguous chunks spread over the pool. */
    static void chunked(dev.tandem.runtime.exec.ThreadPool pool, long count, Range body) {
        int chunks = (int) Math.min(pool.threads() * 2L, count / PARALLEL_MIN);
        if (chunks <= 1) {
            body.run(0, count);
            return;
        }
        pool.parallelFor(chunks, t -> {
            long a = count * t / chunks, b = count * (t + 1) / chunks;
            body.run(a, b - a);
        });
    }
}
