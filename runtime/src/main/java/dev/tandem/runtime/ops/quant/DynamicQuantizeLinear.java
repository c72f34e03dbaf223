package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * DynamicQuantizeLinear (opset 11): quantizes float32 x to uint8 with a scale and zero point computed from x's range
 * (widened to include 0): {@code scale = (max − min) / 255}, {@code zero = saturate(rint(−min / scale))},
 * {@code y = saturate(rint(x / scale) + zero)}. Outputs y, y_scale (scalar float32), y_zero_point (scalar uint8).
 * An all-zero x gives scale 0, zero point 0 and y 0.
 */
public final class DynamicQuantizeLinear implements Op {
    @Override
    public String type() {
        return "DynamicQuantizeLinear";
    }

    @Override
    public int minOpset() {
        return 11;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        Shape x = ctx.shape(0);
        List<Prepared.Output> outs = List.of(new Prepared.Output(DType.UINT8, x),
                new Prepared.Output(DType.FLOAT32, Shape.scalar()), new Prepared.Output(DType.UINT8, Shape.scalar()));
        return Prepared.of(outs, (in, o) -> {
            Tensor xs = in[0].contiguous();
            try {
                long n = x.size();
                float min = 0, max = 0;
                for (long i = 0; i < n; i++) {
                    float v = xs.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, xs.offset() + i);
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
                float scale = (max - min) / 255f;
                int zero = scale == 0 ? 0 : (int) Math.min(255, Math.max(0, Math.rint(0f - min / scale)));
                o[1].segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o[1].offset(), scale);
                o[2].segment().set(ValueLayout.JAVA_BYTE, o[2].offset(), (byte) zero);
                if (scale == 0) {
                    o[0].segment().asSlice(o[0].offset(), n).fill((byte) 0);
                } else {
                    Quant.quantize(xs.segment(), xs.offset(), scale, zero, 0, 255, o[0].segment(), o[0].offset(), n);
                }
            } finally {
                if (xs != in[0]) {
                    xs.close();
                }
            }
        });
    }
}
