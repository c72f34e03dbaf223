package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/** Identity: the input itself (any tensor type, no copy). Sequences and optionals are not tensors: unsupported. */
public final class Identity implements Op {
    @Override
    public String type() {
        return "Identity";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        return Prepared.alias(0, ctx.dtype(0), ctx.shape(0));
    }
}
