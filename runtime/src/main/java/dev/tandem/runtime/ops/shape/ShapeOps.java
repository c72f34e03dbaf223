package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package: data movement and shape ops, dtype-generic. */
public final class ShapeOps {
    private ShapeOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new Flatten());
        r.add(new Reshape());
        r.add(new Squeeze());
        r.add(new Unsqueeze());
        r.add(new Identity());
        r.add(new Dropout());
        r.add(new Transpose());
        r.add(new Concat());
        r.add(new Split());
        r.add(new Slice());
        r.add(new Gather());
        r.add(new GatherElements());
        r.add(new ShapeOf());
        r.add(new SizeOf());
        r.add(new Constant());
        r.add(new ConstantOfShape());
        r.add(new Expand());
        r.add(new Tile());
        r.add(new Range());
    }
}
