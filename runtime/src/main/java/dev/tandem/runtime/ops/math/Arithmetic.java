package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Add, Sub, Mul, Div and Pow (opset 1+): {@code C = A op B} with numpy broadcasting (opset 7+) or, before opset
 * 7, the legacy {@code broadcast}/{@code axis} attributes.
 *
 * <p>Types: A and B share one numeric type (not bool), except Pow, whose exponent may have any numeric type and
 * whose output has the base's type. Float32 runs the vectorised {@link Elementwise#binary}; other types use the
 * scalar path: exact wrap-around long arithmetic for integers (Div truncates toward zero, as C; dividing by zero
 * is an {@link InvalidInputException}; Pow of two integers multiplies exactly), double arithmetic otherwise
 * (an integer-typed result of Pow with a float exponent truncates toward zero).
 */
final class Arithmetic implements Op {
    /** The operation. */
    enum Kind {
        ADD("Add"), SUB("Sub"), MUL("Mul"), DIV("Div"), POW("Pow");

        final String onnx;

        Kind(String onnx) {
            this.onnx = onnx;
        }

        double apply(double a, double b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
                case POW -> Math.pow(a, b);
            };
        }

        long apply(long a, long b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> {
                    if (b == 0) {
                        throw new InvalidInputException("Div: integer division by zero");
                    }
                    yield a / b;
                }
                case POW -> ipow(a, b);
            };
        }

        Elementwise.BinaryOp fast() {
            return switch (this) {
                case ADD -> Elementwise.BinaryOp.ADD;
                case SUB -> Elementwise.BinaryOp.SUB;
                case MUL -> Elementwise.BinaryOp.MUL;
                case DIV -> Elementwise.BinaryOp.DIV;
                case POW -> Elementwise.BinaryOp.POW;
            };
        }
    }

    private final Kind kind;

    Arithmetic(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String type() {
        return kind.onnx;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType ta = ctx.dtype(0), tb = ctx.dtype(1);
        Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        Broadcasting.requireAny(ctx, 1, Broadcasting.NUMERIC);
        if (kind != Kind.POW) {
            Broadcasting.requireSameType(ctx, 0, 1);
        }
        Shape sa = ctx.shape(0);
        Shape sb = ctx.opset() < 7 ? Broadcasting.legacyShapeB(ctx, sa, ctx.shape(1)) : ctx.shape(1);
        Shape out = Broadcasting.shape(ctx, sa, sb);
        boolean legacy = !sb.equals(ctx.shape(1));
        if (ta == DType.FLOAT32 && tb == DType.FLOAT32) {
            Elementwise.BinaryOp op = kind.fast();
            return Prepared.of(DType.FLOAT32, out, (in, o) -> {
                Tensor b = legacy ? Broadcasting.reshaped(in[1], sb) : in[1];
                Elementwise.binary(ctx.pool(), op, in[0], b, o[0]);
            });
        }
        boolean exact = Broadcasting.isIntegral(ta) && Broadcasting.isIntegral(tb);
        return Prepared.of(ta, out, (in, o) -> {
            Tensor b = legacy ? Broadcasting.reshaped(in[1], sb) : in[1];
            run(kind, exact, in[0], b, o[0]);
        });
    }

    /** The scalar path: {@code out = a op b}, broadcast, in long ({@code exact}) or double arithmetic. */
    static void run(Kind kind, boolean exact, Tensor a, Tensor b, Tensor out) {
        Broadcasting.forEachRow(out.shape(), new Tensor[]{a, b}, (offs, steps, o, len) -> {
            long pa = offs[0], pb = offs[1];
            for (int j = 0; j < len; j++, pa += steps[0], pb += steps[1]) {
                if (exact) {
                    Elements.setLong(out, o + j, kind.apply(Elements.getLong(a, pa), Elements.getLong(b, pb)));
                } else {
                    Elements.setDouble(out, o + j, kind.apply(Elements.getDouble(a, pa), Elements.getDouble(b, pb)));
                }
            }
        });
    }

    /** {@code base^exp} in exact wrap-around long arithmetic; a negative exponent gives the truncated quotient. */
    static long ipow(long base, long exp) {
        if (exp < 0) {
            if (base == 1) {
                return 1;
            }
            if (base == -1) {
                return (exp & 1) == 0 ? 1 : -1;
            }
            if (base == 0) {
                throw new InvalidInputException("Pow: zero to a negative integer power");
            }
            return 0;
        }
        long r = 1;
        while (exp > 0) {
            if ((exp & 1) != 0) {
                r *= base;
            }
            base *= base;
            exp >>= 1;
        }
        return r;
    }
}
