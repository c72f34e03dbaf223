package dev.tandem.runtime.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

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

    /**
     * The same function on a vector of {@link Simd#FLOAT}. Kept tiny so that C2 inlines it into every kernel
     * epilogue: a vector crossing a call that is not inlined gets boxed (an allocation per call; measured: a GEMM
     * with a fused ReLU ran at 60% of the speed of one without before this split).
     */
    public FloatVector apply(FloatVector v) {
        return switch (kind) {
            case NONE -> v;
            case RELU -> v.max(0f);
            case CLIP -> v.max(min).min(max);
            default -> applyTranscendental(v);
        };
    }

    private FloatVector applyTranscendental(FloatVector v) {
        return switch (kind) {
            case SIGMOID -> sigmoid(v);
            case SILU -> v.mul(sigmoid(v));
            case HARDSWISH -> v.mul(v.add(3f).max(0f).min(6f)).mul(1f / 6f);
            default -> throw new AssertionError(kind);
        };
    }

    private static FloatVector sigmoid(FloatVector v) {
        return v.broadcast(1f).div(v.neg().lanewise(VectorOperators.EXP).add(1f));
    }
}
