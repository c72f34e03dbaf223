package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.Elementwise.BinaryOp;
import dev.tandem.runtime.kernels.Elementwise.UnaryOp;
import dev.tandem.runtime.tensor.Shape;

/**
 * The slow, obvious elementwise ops in double: broadcasting by explicit index arithmetic for every output element,
 * and a double-precision {@link #erf(double)} written from its series.
 */
public final class ReferenceElementwise {
    private ReferenceElementwise() {
    }

    /** {@code op(a, b)} over row-major {@code a} of shape {@code as} and {@code b} of shape {@code bs}, broadcast. */
    public static double[] binary(BinaryOp op, float[] a, Shape as, float[] b, Shape bs) {
        return binary(op, Widen.of(a), as, Widen.of(b), bs);
    }

    /** The same on double operands. */
    public static double[] binary(BinaryOp op, double[] a, Shape as, double[] b, Shape bs) {
        Shape os = Shape.broadcast(as, bs);
        int r = os.rank();
        double[] out = new double[(int) os.size()];
        int[] idx = new int[r];
        for (int e = 0; e < out.length; e++) {
            out[e] = binary(op, a[sourceIndex(idx, as, r)], b[sourceIndex(idx, bs, r)]);
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < os.dim(i)) {
                    break;
                }
                idx[i] = 0;
            }
        }
        return out;
    }

    /** Row-major index in a tensor of shape {@code s} of the element broadcast to output index {@code idx}. */
    private static int sourceIndex(int[] idx, Shape s, int r) {
        int lead = r - s.rank(), at = 0;
        for (int i = 0; i < s.rank(); i++) {
            int d = s.dim(i);
            at = at * d + (d == 1 ? 0 : idx[i + lead]);
        }
        return at;
    }

    public static double binary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
        };
    }

    public static double unary(UnaryOp op, double x) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SQRT -> Math.sqrt(x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case RELU -> Math.max(x, 0);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case ERF -> erf(x);
        };
    }

    /**
     * The error function to about 1e-15 absolute, from the everywhere-convergent series with positive terms
     * (Abramowitz and Stegun 7.1.6):
     * {@code erf(x) = 2/√π · exp(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))}; for {@code |x| >= 6},
     * {@code 1 - |erf(x)| < 1e-17}, so the result is ±1.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a >= 6) {
            return Math.copySign(1.0, x);
        }
        double term = a, sum = a;
        for (int n = 1; term > sum * 1e-17; n++) {
            term *= 2 * a * a / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum, x);
    }
}
