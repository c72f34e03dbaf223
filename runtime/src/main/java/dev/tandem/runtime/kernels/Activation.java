package dev.tandem.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * An elementwise activation that kernels fuse into their output (GEMM and convolution epilogues).
 *
 * @param kind which function
 * @param min  lower bound for {@link Kind#CLIP} (ignored otherwise)
 * @param max  upper bound for {@link Kind#CLIP} (ignored otherwise)
 */
public record Activation(Kind kind, float min, float max) {
    /** The supported functions. */
    public enum Kind {
        NONE, RELU, CLIP, SIGMOID, SILU, HARDSWISH
    }

    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    public static final Activation NONE = new Activation(Kind.NONE, 0, 0);
    public static final Activation RELU = new Activation(Kind.RELU, 0, 0);
    /** Clip to [0, 6]. */
    public static final Activation RELU6 = clip(0, 6);
    public static final Activation SIGMOID = new Activation(Kind.SIGMOID, 0, 0);
    /** x · sigmoid(x), also called swish. */
    public static final Activation SILU = new Activation(Kind.SILU, 0, 0);
    /** x · clip(x + 3, 0, 6) / 6, as ONNX HardSwish. */
    public static final Activation HARDSWISH = new Activation(Kind.HARDSWISH, 0, 0);

    public Activation {
        if (kind == Kind.CLIP && !(min <= max)) {
            throw new IllegalArgumentException("Clip needs min <= max, got [" + min + ", " + max + "]");
        }
    }

    /** Clamp to {@code [min, max]} (ONNX Clip). */
    public static Activation clip(float min, float max) {
        return new Activation(Kind.CLIP, min, max);
    }

    /** The scalar function; the reference every vector path is tested against. */
    public float apply(float x) {
        return switch (kind) {
            case NONE -> x;
            case RELU -> Math.max(x, 0f);
            case CLIP -> Math.min(Math.max(x, min), max);
            case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
            case SILU -> (float) (x / (1.0 + Math.exp(-x)));
            case HARDSWISH -> x * Math.min(Math.max(x + 3f, 0f), 6f) / 6f;
        };
    }

    /** True for the activations that are a clamp to [{@link #clampLow()}, {@link #clampHigh()}]: none, ReLU, Clip. */
    public boolean isClamp() {
        return kind == Kind.NONE || kind == Kind.RELU || kind == Kind.CLIP;
    }

    /** The lower bound of a clamp activation (−∞ for none). */
    public float clampLow() {
        return switch (kind) {
            case RELU -> 0f;
            case CLIP -> min;
            default -> Float.NEGATIVE_INFINITY;
        };
    }

    /** The upper bound of a clamp activation (+∞ for none and ReLU). */
    public float clampHigh() {
        return kind == Kind.CLIP ? max : Float.POSITIVE_INFINITY;
    }

    /**
     * Applies the function in place to {@code a[off, off+len)}.
     *
     * <p>Why in place over memory and never {@code FloatVector apply(FloatVector)}: a vector passed to or returned
     * from a method that C2 does not inline is boxed, one allocation per call. Whether a small method gets
     * inlined depends on what was compiled first ("already compiled into a medium method"), so the only safe rule
     * is that vectors never cross method boundaries. Each loop below keeps its vectors to itself (measured: a
     * GEMM whose epilogue called a vector {@code apply} ran at 60% of the speed of one without activation).
     */
    public void applyInPlace(float[] a, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, a.length);
        switch (kind) {
            case NONE -> { }
            case RELU -> clampArray(a, off, len, 0f, Float.POSITIVE_INFINITY);
            case CLIP -> clampArray(a, off, len, min, max);
            case SIGMOID -> sigmoidArray(a, off, len, false);
            case SILU -> sigmoidArray(a, off, len, true);
            case HARDSWISH -> hardSwishArray(a, off, len);
        }
    }

    /** Applies the function in place to the float32 elements {@code [off, off+len)} of {@code seg}. */
    public void applyInPlace(MemorySegment seg, long off, long len) {
        switch (kind) {
            case NONE -> { }
            case RELU -> clampSegment(seg, off, len, 0f, Float.POSITIVE_INFINITY);
            case CLIP -> clampSegment(seg, off, len, min, max);
            case SIGMOID -> sigmoidSegment(seg, off, len, false);
            case SILU -> sigmoidSegment(seg, off, len, true);
            case HARDSWISH -> hardSwishSegment(seg, off, len);
        }
    }

    private void scalarTail(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            a[i] = apply(a[i]);
        }
    }

    private void scalarTail(MemorySegment seg, long from, long to) {
        for (long i = from; i < to; i++) {
            seg.setAtIndex(FL, i, apply(seg.getAtIndex(FL, i)));
        }
    }

    private void clampArray(float[] a, int off, int len, float lo, float hi) {
        int end = off + len, i = off;
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        for (; i + F <= end; i += F) {
            Simd.clamp(FloatVector.fromArray(S, a, i), lov, hiv).intoArray(a, i);
        }
        scalarTail(a, i, end);
    }

    private void sigmoidArray(float[] a, int off, int len, boolean timesX) {
        int end = off + len, i = off;
        for (; i + F <= end; i += F) {
            FloatVector x = FloatVector.fromArray(S, a, i);
            FloatVector sg = x.broadcast(1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
            (timesX ? x.mul(sg) : sg).intoArray(a, i);
        }
        if (i < end) {
            // the tail as one masked vector: scalar Math.exp per element made the tails of short rows (a 56-wide
            // depthwise output: 8 of 56) 4.5% of EfficientNet-B0's time
            VectorMask<Float> m = S.indexInRange(i, end);
            FloatVector x = FloatVector.fromArray(S, a, i, m);
            FloatVector sg = x.broadcast(1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
            (timesX ? x.mul(sg) : sg).intoArray(a, i, m);
        }
    }

    private void hardSwishArray(float[] a, int off, int len) {
        int end = off + len, i = off;
        FloatVector zero = FloatVector.zero(S), six = FloatVector.broadcast(S, 6f);
        for (; i + F <= end; i += F) {
            FloatVector x = FloatVector.fromArray(S, a, i);
            x.mul(Simd.clamp(x.add(3f), zero, six)).mul(1f / 6f).intoArray(a, i);
        }
        scalarTail(a, i, end);
    }

    private void clampSegment(MemorySegment seg, long off, long len, float lo, float hi) {
        long end = off + len, i = off;
        FloatVector lov = FloatVector.broadcast(S, lo), hiv = FloatVector.broadcast(S, hi);
        for (; i + F <= end; i += F) {
            Simd.clamp(FloatVector.fromMemorySegment(S, seg, i * 4, LE), lov, hiv).intoMemorySegment(seg, i * 4, LE);
        }
        scalarTail(seg, i, end);
    }

    private void sigmoidSegment(MemorySegment seg, long off, long len, boolean timesX) {
        long end = off + len, i = off;
        for (; i + F <= end; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, seg, i * 4, LE);
            FloatVector sg = x.broadcast(1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
            (timesX ? x.mul(sg) : sg).intoMemorySegment(seg, i * 4, LE);
        }
        if (i < end) {
            VectorMask<Float> m = S.indexInRange(i, end);
            FloatVector x = FloatVector.fromMemorySegment(S, seg, i * 4, LE, m);
            FloatVector sg = x.broadcast(1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
            (timesX ? x.mul(sg) : sg).intoMemorySegment(seg, i * 4, LE, m);
        }
    }

    private void hardSwishSegment(MemorySegment seg, long off, long len) {
        long end = off + len, i = off;
        FloatVector zero = FloatVector.zero(S), six = FloatVector.broadcast(S, 6f);
        for (; i + F <= end; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, seg, i * 4, LE);
            x.mul(Simd.clamp(x.add(3f), zero, six)).mul(1f / 6f).intoMemorySegment(seg, i * 4, LE);
        }
        scalarTail(seg, i, end);
    }
}
