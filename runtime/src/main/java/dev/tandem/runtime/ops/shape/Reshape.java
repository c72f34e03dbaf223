package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.Shape;

/**
 * Reshape (opset 5+: the shape is input 1, known at plan time; opset 14 {@code allowzero}): any type, no copy.
 * A 0 copies the input's dimension (unless {@code allowzero=1}, then it is a literal 0); one -1 is inferred.
 */
public final class Reshape implements Op {
    @Override
    public String type() {
        return "Reshape";
    }

    @Override
    public int minOpset() {
        return 5;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        if (ctx.opset() < 5) {
            throw ctx.unsupported("Reshape before opset 5 (shape attribute) is not supported");
        }
        Shape in = ctx.shape(0);
        ctx.requireType(1, dev.tandem.runtime.tensor.DType.INT64);
        long[] spec = ctx.constantLongs(1, "the target shape");
        boolean allowZero = ctx.attrInt("allowzero", 0) != 0;
        int[] out = new int[spec.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < spec.length; i++) {
            long s = spec[i];
            if (s == -1) {
                if (infer >= 0) {
                    throw ctx.fail("more than one -1 in shape " + java.util.Arrays.toString(spec));
                }
                infer = i;
                continue;
            }
            if (s == 0 && !allowZero) {
                if (i >= in.rank()) {
                    throw ctx.fail("shape " + java.util.Arrays.toString(spec) + " copies dimension " + i
                            + " (0) of a rank-" + in.rank() + " input");
                }
                s = in.dim(i);
            } else if (s < 0) {
                throw ctx.fail("invalid dimension " + s + " in shape " + java.util.Arrays.toString(spec));
            }
            if (s > Integer.MAX_VALUE) {
                throw ctx.fail("dimension " + s + " too large");
            }
            out[i] = (int) s;
            known *= s;
        }
        if (infer >= 0) {
            if (known == 0 || in.size() % known != 0) {
                throw ctx.fail("cannot reshape " + in + " to " + java.util.Arrays.toString(spec));
            }
            out[infer] = Math.toIntExact(in.size() / known);
        }
        Shape s = Shape.of(out);
        if (s.size() != in.size()) {
            throw ctx.fail("cannot reshape " + in + " (" + in.size() + " elements) to " + s + " (" + s.size()
                    + " elements)");
        }
        return Prepared.alias(0, ctx.dtype(0), s);
    }
}
