package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;

/** What passes may use: the op registry (to fold constants with the real kernels) and a GEMM. */
public record PassContext(OpRegistry registry, Sgemm gemm) {
}
