package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package. */
public final class ShapeOps {
    private ShapeOps() {
    }

    public static void register(OpRegistry r) {
    }
}
