package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Elementwise functions of one input with its type and shape: Sqrt, Exp, Log, Sigmoid, Tanh, Reciprocal, Floor,
 * Ceil, Softplus (float32/float64, opset 1+), Round (opset 11+, half to even), Erf (opset 9+, any numeric type),
 * Neg (signed types), Abs and Sign (opset 9+, any numeric type), and Not (bool).
 *
 * <p>Float32 Sqrt, Exp, Log, Sigmoid, Tanh, Erf, Neg and Abs run the vectorised {@link Elementwise#unary}; the
 * rest use the scalar path: double math for floats (an integer result of Erf truncates), exact long math for
 * integers (Neg and Abs wrap around at the type's minimum, as C).
 */
final class Unary implements Op {
    /** The function. */
    enum Kind {
        SQRT("Sqrt", 1), EXP("Exp", 1), LOG("Log", 1), SIGMOID("Sigmoid", 1), TANH("Tanh", 1),
        RECIPROCAL("Reciprocal", 1), FLOOR("Floor", 1), CEIL("Ceil", 1), ROUND("Round", 11), ERF("Erf", 9),
        NEG("Neg", 1), ABS("Abs", 1), SIGN("Sign", 9), NOT("Not", 1), SOFTPLUS("Softplus", 1);

        final String onnx;
        final int since;

        Kind(String onnx, int since) {
            this.onnx = onnx;
            this.since = since;
        }

        double apply(double x) {
            return switch (this) {
                case SQRT -> Math.sqrt(x);
                case EXP -> Math.exp(x);
                case LOG -> Math.log(x);
                case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
                case TANH -> Math.tanh(x);
                case RECIPROCAL -> 1.0 / x;
                case FLOOR -> Math.floor(x);
                case CEIL -> Math.ceil(x);
                case ROUND -> Math.rint(x);
                case ERF -> erf(x);
                case NEG -> -x;
                case ABS -> Math.abs(x);
                case SIGN -> Math.signum(x);
                case NOT -> x == 0 ? 1 : 0;
                // log(1 + e^x) without overflow for large x
                case SOFTPLUS -> x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
            };
        }

        long apply(long x) {
            return switch (this) {
                case NEG -> -x;
                case ABS -> Math.abs(x);
                case SIGN -> Long.signum(x);
                case NOT -> x == 0 ? 1 : 0;
                default -> throw new IllegalStateException(this + " has no integer form");
            };
        }

        /** Whether integers go through {@link #apply(long)} (else through double). */
        boolean exactOnIntegers() {
            return this == NEG || this == ABS || this == SIGN || this == NOT;
        }

        DType[] types() {
            return switch (this) {
                case ERF, ABS, SIGN -> Broadcasting.NUMERIC;
                case NEG -> Broadcasting.SIGNED;
                case NOT -> new DType[]{DType.BOOL};
                default -> Broadcasting.FLOATS;
            };
        }

        Elementwise.UnaryOp fast() {
            return switch (this) {
                case SQRT -> Elementwise.UnaryOp.SQRT;
                case EXP -> Elementwise.UnaryOp.EXP;
                case LOG -> Elementwise.UnaryOp.LOG;
                case SIGMOID -> Elementwise.UnaryOp.SIGMOID;
                case TANH -> Elementwise.UnaryOp.TANH;
                case ERF -> Elementwise.UnaryOp.ERF;
                case NEG -> Elementwise.UnaryOp.NEG;
                case ABS -> Elementwise.UnaryOp.ABS;
                default -> null;
            };
        }
    }

    private final Kind kind;

    Unary(Kind kind) {
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
        DType t = Broadcasting.requireAny(ctx, 0, kind.types());
        Elementwise.UnaryOp fast = kind.fast();
        if (t == DType.FLOAT32 && fast != null) {
            return Prepared.of(t, ctx.shape(0), (in, o) -> Elementwise.unary(ctx.pool(), fast, in[0], o[0]));
        }
        boolean exact = Broadcasting.isIntegral(t) && kind.exactOnIntegers();
        return Prepared.of(t, ctx.shape(0), (in, o) -> run(kind, exact, in[0], o[0]));
    }

    static void run(Kind kind, boolean exact, Tensor x, Tensor out) {
        Broadcasting.forEachRow(out.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
            long p = offs[0];
            for (int j = 0; j < len; j++, p += steps[0]) {
                if (exact) {
                    Elements.setLong(out, oi + j, kind.apply(Elements.getLong(x, p)));
                } else {
                    Elements.setDouble(out, oi + j, kind.apply(Elements.getDouble(x, p)));
                }
            }
        });
    }

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;

    /**
     * The error function in double, to about 1e-15: the series {@code erf(x) = 2/sqrt(pi) exp(-x^2) sum 2^n
     * x^(2n+1) / (1*3*...*(2n+1))} (positive terms, no cancellation) below |x| = 3, and the continued fraction of
     * erfc above.
     */
    static double erf(double x) {
        if (x != x) {
            return x;
        }
        double a = Math.abs(x);
        double r;
        if (a < 3) {
            double x2 = a * a, term = a, sum = a;
            for (int n = 1; n < 200; n++) {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
                if (term < sum * 1e-17) {
                    break;
                }
            }
            r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        } else if (a < 6) {
            // erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated bottom-up
            double f = a;
            for (int n = 60; n >= 1; n--) {
                f = a + (n / 2.0) / f;
            }
            r = 1 - Math.exp(-a * a) * ONE_OVER_SQRT_PI / f;
        } else {
            r = 1;
        }
        return x < 0 ? -r : r;
    }
}
