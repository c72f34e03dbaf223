package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * ConstantOfShape (opset 9+): a tensor of the shape given by input 0 (known at plan time) filled with the one
 * element of the {@code value} tensor attribute (default float32 0).
 */
public final class ConstantOfShape implements Op {
    @Override
    public String type() {
        return "ConstantOfShape";
    }

    @Override
    public int minOpset() {
        return 9;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        long[] spec = ctx.constantLongs(0, "the shape");
        int[] dims = new int[spec.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = ShapeSupport.toInt(ctx, spec[i], "dimension");
        }
        Tensor value = ctx.attrTensor("value");
        if (value != null && value.size() != 1) {
            throw ctx.fail("'value' must hold one element, has " + value.size());
        }
        DType dt = value == null ? DType.FLOAT32 : value.dtype();
        Shape out = Shape.of(dims);
        return Prepared.of(dt, out, (x, y) -> {
            long n = y[0].size();
            if (n == 0) {
                return;
            }
            if (value == null) {
                y[0].segment().asSlice(y[0].offset() * dt.byteSize(), n * dt.byteSize()).fill((byte) 0);
                return;
            }
            try (Tensor one = value.reshape(1).contiguous()) {
                StridedCopy.copy(one, 0, new long[] {0}, new int[] {Math.toIntExact(n)}, y[0]);
            }
        });
    }
}
