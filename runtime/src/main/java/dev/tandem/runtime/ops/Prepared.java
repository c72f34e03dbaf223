package dev.tandem.runtime.ops;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.List;

/**
 * The result of preparing a node: its outputs' types and shapes, and either a {@link Kernel} computing them or,
 * for ops that only reinterpret their input (Reshape, Flatten, Squeeze, Unsqueeze, Identity...), an alias: output
 * 0 is input {@link #aliasOf()} with a new shape, sharing its memory, with no kernel run.
 *
 * @param multiplyAdds the multiply-adds one run performs (for {@code tandem inspect}), 0 when negligible
 * @param reuses       an input whose memory output 0 may take when this node is that input's last reader (same
 *                     type and shape; the kernel computes correctly when the two are the same memory), or -1
 */
public record Prepared(List<Output> outputs, Kernel kernel, int aliasOf, long multiplyAdds, int reuses) {
    public Prepared(List<Output> outputs, Kernel kernel, int aliasOf, long multiplyAdds) {
        this(outputs, kernel, aliasOf, multiplyAdds, -1);
    }

    /** One output's type and shape. */
    public record Output(DType dtype, Shape shape) {
    }

    public static Prepared of(DType dtype, Shape shape, Kernel kernel) {
        return new Prepared(List.of(new Output(dtype, shape)), kernel, -1, 0);
    }

    public static Prepared of(DType dtype, Shape shape, long multiplyAdds, Kernel kernel) {
        return new Prepared(List.of(new Output(dtype, shape)), kernel, -1, multiplyAdds);
    }

    public static Prepared of(List<Output> outputs, Kernel kernel) {
        return new Prepared(List.copyOf(outputs), kernel, -1, 0);
    }

    /** Output 0 is input {@code input} viewed with {@code shape} (same element count, same type). */
    public static Prepared alias(int input, DType dtype, Shape shape) {
        return new Prepared(List.of(new Output(dtype, shape)), null, input, 0);
    }

    /**
     * This node with output 0 allowed to take input {@code input}'s memory where the plan finds that input read by no
     * later node (see {@link #reuses()}). Why: a convolution with a fused residual (ResNet's and MobileNetV2's
     * skip connections) otherwise copies the residual into its output on the calling thread before accumulating
     * onto it; written over the residual in place, it copies nothing, and the arena holds one buffer less.
     */
    public Prepared reusing(int input) {
        if (input < 0 || isAlias() || outputs.isEmpty()) {
            throw new IllegalArgumentException("reusing(" + input + ") needs a kernel node and an input index");
        }
        return new Prepared(outputs, kernel, aliasOf, multiplyAdds, input);
    }

    public boolean isAlias() {
        return aliasOf >= 0;
    }
}
