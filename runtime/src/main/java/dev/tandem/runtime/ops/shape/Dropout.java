package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import java.util.List;

/**
 * Dropout in inference mode: the output is the input (no copy); the optional mask output is all true (bool from
 * opset 10, the input's type with ones before). Training mode (opset 12 input {@code training_mode} known true,
 * or {@code is_test=0} before opset 7) is unsupported unless the ratio is known to be 0; an unknown training_mode
 * is unsupported too.
 */
public final class Dropout implements Op {
    @Override
    public String type() {
        return "Dropout";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType dt = ctx.dtype(0);
        boolean training;
        if (ctx.opset() >= 12) {
            if (ctx.hasInput(2)) {
                training = ctx.constantLongs(2, "training_mode")[0] != 0;
            } else {
                training = false;
            }
        } else if (ctx.opset() < 7) {
            training = ctx.attrInt("is_test", 0) == 0;
        } else {
            training = false;
        }
        if (training) {
            float ratio;
            if (ctx.opset() >= 12) {
                ratio = ctx.hasInput(1) ? ctx.constantFloats(1, "ratio")[0] : 0.5f;
            } else {
                ratio = ctx.attrFloat("ratio", 0.5f);
            }
            if (ratio != 0f) {
                throw ctx.unsupported("Dropout in training mode (random masks) is not supported; Tandem runs "
                        + "inference");
            }
        }
        if (ctx.outputCount() < 2) {
            return Prepared.alias(0, dt, ctx.shape(0));
        }
        DType maskType = ctx.opset() >= 10 ? DType.BOOL : dt;
        return Prepared.of(List.of(new Prepared.Output(dt, ctx.shape(0)), new Prepared.Output(maskType,
                ctx.shape(0))), (in, out) -> {
            Elements.copy(in[0], 0, out[0], 0, out[0].size());
            long n = out[1].size();
            for (long i = 0; i < n; i++) {
                Elements.setLong(out[1], i, 1);
            }
        });
    }
}
