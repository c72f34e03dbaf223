package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Min, Max, Sum and Mean (opset 1+): the elementwise minimum, maximum, sum or mean of one or more inputs of one
 * type, with numpy broadcasting (opset 8+; before, the shapes are equal, which broadcasting also covers).
 *
 * <p>Types: Sum and Mean take float32/float64; Min and Max any numeric type (opset 12+). Float32 folds the inputs
 * pairwise with the vectorised {@link Elementwise#binary}, Mean dividing the sum by the count; other types use the
 * scalar path (exact long for integers, double for float64). Min and Max propagate NaN.
 */
final class Variadic implements Op {
    /** The operation. */
    enum Kind {
        MIN("Min"), MAX("Max"), SUM("Sum"), MEAN("Mean");

        final String onnx;

        Kind(String onnx) {
            this.onnx = onnx;
        }

        double apply(double a, double b) {
            return switch (this) {
                case MIN -> Math.min(a, b);
                case MAX -> Math.max(a, b);
                case SUM, MEAN -> a + b;
            };
        }

        long apply(long a, long b) {
            return switch (this) {
                case MIN -> Math.min(a, b);
                case MAX -> Math.max(a, b);
                case SUM, MEAN -> a + b;
            };
        }

        Elementwise.BinaryOp fast() {
            return switch (this) {
                case MIN -> Elementwise.BinaryOp.MIN;
                case MAX -> Elementwise.BinaryOp.MAX;
                case SUM, MEAN -> Elementwise.BinaryOp.ADD;
            };
        }
    }

    private final Kind kind;

    Variadic(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String type() {
        return kind.onnx;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        int n = ctx.inputCount();
        if (n == 0) {
            throw ctx.fail("needs at least one input");
        }
        DType t = kind == Kind.SUM || kind == Kind.MEAN ? Broadcasting.requireAny(ctx, 0, Broadcasting.FLOATS)
                : Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        Shape[] shapes = new Shape[n];
        for (int i = 0; i < n; i++) {
            Broadcasting.requireSameType(ctx, 0, i);
            shapes[i] = ctx.shape(i);
        }
        Shape out = Broadcasting.shape(ctx, shapes);
        if (t == DType.FLOAT32) {
            Elementwise.BinaryOp op = kind.fast();
            return Prepared.of(t, out, (in, o) -> {
                Tensor r = o[0];
                r.copyFrom(in[0].broadcastTo(out));
                for (int i = 1; i < n; i++) {
                    Elementwise.binary(ctx.pool(), op, r, in[i], r);
                }
                if (kind == Kind.MEAN && n > 1) {
                    MemorySegment s = r.segment();
                    ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED;
                    for (long k = r.offset(), end = k + r.size(); k < end; k++) {
                        s.setAtIndex(f, k, s.getAtIndex(f, k) / n);
                    }
                }
            });
        }
        boolean exact = Broadcasting.isIntegral(t);
        return Prepared.of(t, out, (in, o) -> {
            Tensor r = o[0];
            r.copyFrom(in[0].broadcastTo(out));
            for (int i = 1; i < n; i++) {
                Tensor x = in[i];
                Broadcasting.forEachRow(out, new Tensor[]{r, x}, (offs, steps, oi, len) -> {
                    long px = offs[1];
                    for (int j = 0; j < len; j++, px += steps[1]) {
                        if (exact) {
                            Elements.setLong(r, oi + j, kind.apply(Elements.getLong(r, oi + j), Elements.getLong(x, px)));
                        } else {
                            Elements.setDouble(r, oi + j,
                                    kind.apply(Elements.getDouble(r, oi + j), Elements.getDouble(x, px)));
                        }
                    }
                });
            }
            if (kind == Kind.MEAN && n > 1) {
                for (long k = 0; k < r.size(); k++) {
                    Elements.setDouble(r, k, Elements.getDouble(r, k) / n);
                }
            }
        });
    }
}
