package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Binary ops with a bool result, with numpy broadcasting (opset 7+; before, the legacy {@code broadcast}/
 * {@code axis} attributes): the comparisons Equal, Greater, Less (opset 1+), GreaterOrEqual, LessOrEqual (opset
 * 12+) on two inputs of one type (any type for Equal, numeric for the others), and the logical And, Or, Xor
 * (opset 1+) on bool inputs.
 *
 * <p>Integers compare exactly as longs (uint8 unsigned), floats as doubles (NaN is unequal to everything and
 * neither greater nor less).
 */
final class Predicate implements Op {
    /** The operation. */
    enum Kind {
        EQUAL("Equal", 1), GREATER("Greater", 1), LESS("Less", 1), GREATER_OR_EQUAL("GreaterOrEqual", 12),
        LESS_OR_EQUAL("LessOrEqual", 12), AND("And", 1), OR("Or", 1), XOR("Xor", 1);

        final String onnx;
        final int since;

        Kind(String onnx, int since) {
            this.onnx = onnx;
            this.since = since;
        }

        boolean logical() {
            return this == AND || this == OR || this == XOR;
        }

        boolean apply(long a, long b) {
            return switch (this) {
                case EQUAL -> a == b;
                case GREATER -> a > b;
                case LESS -> a < b;
                case GREATER_OR_EQUAL -> a >= b;
                case LESS_OR_EQUAL -> a <= b;
                case AND -> a != 0 && b != 0;
                case OR -> a != 0 || b != 0;
                case XOR -> (a != 0) != (b != 0);
            };
        }

        boolean apply(double a, double b) {
            return switch (this) {
                case EQUAL -> a == b;
                case GREATER -> a > b;
                case LESS -> a < b;
                case GREATER_OR_EQUAL -> a >= b;
                case LESS_OR_EQUAL -> a <= b;
                case AND, OR, XOR -> apply(a != 0 ? 1L : 0L, b != 0 ? 1L : 0L);
            };
        }
    }

    private final Kind kind;

    Predicate(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String type() {
        return kind.onnx;
    }

    @Override
    public int minOpset() {
        return kind.since;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        if (kind.logical()) {
            ctx.requireType(0, DType.BOOL);
            ctx.requireType(1, DType.BOOL);
        } else if (kind != Kind.EQUAL) {
            Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        }
        Broadcasting.requireSameType(ctx, 0, 1);
        Shape sa = ctx.shape(0);
        Shape sb = ctx.opset() < 7 ? Broadcasting.legacyShapeB(ctx, sa, ctx.shape(1)) : ctx.shape(1);
        Shape out = Broadcasting.shape(ctx, sa, sb);
        boolean legacy = !sb.equals(ctx.shape(1));
        boolean exact = Broadcasting.isIntegral(ctx.dtype(0));
        return Prepared.of(DType.BOOL, out, (in, o) -> {
            Tensor a = in[0], b = legacy ? Broadcasting.reshaped(in[1], sb) : in[1];
            Tensor r = o[0];
            Broadcasting.forEachRow(out, new Tensor[]{a, b}, (offs, steps, oi, len) -> {
                long pa = offs[0], pb = offs[1];
                for (int j = 0; j < len; j++, pa += steps[0], pb += steps[1]) {
                    boolean v = exact ? kind.apply(Elements.getLong(a, pa), Elements.getLong(b, pb))
                            : kind.apply(Elements.getDouble(a, pa), Elements.getDouble(b, pb));
                    Elements.setLong(r, oi + j, v ? 1 : 0);
                }
            });
        });
    }
}
