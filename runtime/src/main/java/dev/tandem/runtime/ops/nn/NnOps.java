package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package. */
public final class NnOps {
    private NnOps() {
    }

    public static void register(OpRegistry r) {
    }
}
