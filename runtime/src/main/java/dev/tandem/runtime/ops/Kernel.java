package dev.tandem.runtime.ops;

import dev.tandem.runtime.tensor.Tensor;

/**
 * A prepared computation: reads {@code inputs} (null where an optional input is absent) and writes every
 * {@code outputs} tensor, which the executor has allocated with the types and shapes the op declared (contiguous,
 * in a planned arena; contents undefined on entry). Kernels must be safe to run on several threads at once with
 * different tensors, and must not keep references to the tensors after returning.
 */
@FunctionalInterface
public interface Kernel {
    void run(Tensor[] inputs, Tensor[] outputs);
}
