package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package. */
public final class MathOps {
    private MathOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new Relu());
    }
}
