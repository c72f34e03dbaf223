package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise float32 kernels: binary ops with numpy broadcasting, unary ops, and an {@link Activation} applied
 * in place.
 *
 * <p><b>Operands.</b> Inputs are float32 tensors of any rank and strides (broadcast views, slices and permutations
 * included); the output is a contiguous float32 tensor of the broadcast shape (unary: the input's shape). The
 * output may be one of the inputs when that input is contiguous with the output's shape (in place); any other
 * overlap between output and inputs gives undefined results.
 *
 * <p><b>Paths.</b> Axes are merged as far as the operands' strides allow (see {@link StridedRows}); each remaining
 * innermost run is vectorised when every operand steps through it with stride 1 or 0. That covers same-shape
 * contiguous operands (one long run, split across threads), a scalar operand, and broadcasting whose innermost
 * dimension is contiguous ({@code [N, C, H, W] + [1, C, 1, 1]}, {@code [M, N] + [N]}, {@code [M, 1] + [1, N]}).
 * Runs with other inner strides (e.g. a transposed input) are scalar.
 *
 * <p><b>Semantics.</b> Results follow Java float arithmetic and {@link Math}: NaN propagates through every op
 * (MIN and MAX included), division by zero gives an infinity or NaN, {@code POW} follows {@link Math#pow}, and
 * transcendental ops (EXP, LOG, TANH, POW) use the Vector API's, which are within about 1 ulp of
 * {@code java.lang.Math}. {@code ERF} is a two-piece polynomial approximation (see {@link #erf(float)})
 * with absolute error below 2e-7.
 *
 * <p><b>Threads.</b> Stateless; calls may run concurrently on distinct outputs. Work is split over the given pool
 * when large. The scalar reference is {@link dev.tandem.runtime.kernels.reference.ReferenceElementwise}.
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Run modes of a binary kernel: both operands stepping, B a scalar over the run, A a scalar over the run. */
    private static final int VV = 0, VS = 1, SV = 2;

    /** Binary ops, each {@code f(a, b)} with {@code a} the first operand. */
    public enum BinaryOp {
        ADD, SUB, MUL, DIV, POW, MIN, MAX;

        /** The op on one pair of values; the vector paths agree with it up to the ulp noted in the class comment. */
        public float apply(float a, float b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
                case POW -> (float) Math.pow(a, b);
                case MIN -> Math.min(a, b);
                case MAX -> Math.max(a, b);
            };
        }
    }

    /** Unary ops. */
    public enum UnaryOp {
        NEG, ABS, SQRT, EXP, LOG, RELU, SIGMOID, TANH, ERF;

        /** The op on one value, as the scalar tails of the vector loops compute it. */
        public float apply(float x) {
            return switch (this) {
                case NEG -> -x;
                case ABS -> Math.abs(x);
                case SQRT -> (float) Math.sqrt(x);
                case EXP -> (float) Math.exp(x);
                case LOG -> (float) Math.log(x);
                case RELU -> Math.max(x, 0f);
                case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
                case TANH -> (float) Math.tanh(x);
                case ERF -> erf(x);
            };
        }
    }

    private Elementwise() {
    }

    /**
     * {@code out = op(a, b)} with numpy broadcasting.
     *
     * @param out contiguous float32 of shape {@code broadcast(a.shape, b.shape)}
     * @throws IllegalArgumentException when a dtype is not float32, the shapes do not broadcast, or {@code out} has
     *                                  the wrong shape (the message names the shapes)
     */
    public static void binary(ThreadPool pool, BinaryOp op, Tensor a, Tensor b, Tensor out) {
        String name = opName(op.name());
        TensorChecks.requireFloat(name, "input A", a);
        TensorChecks.requireFloat(name, "input B", b);
        Shape shape;
        try {
            shape = Shape.broadcast(a.shape(), b.shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        TensorChecks.requireContiguous(name, "output", out, shape);
        StridedRows rows = StridedRows.of(shape, a, b);
        long sa = rows.innerStride(0), sb = rows.innerStride(1);
        MemorySegment as = a.segment(), bs = b.segment(), os = out.segment();
        long oo = out.offset();
        int mode = sa == 1 && sb == 1 ? VV : sa == 1 && sb == 0 ? VS : sa == 0 && sb == 1 ? SV : -1;
        rows.forEach(pool, (offs, index, len) -> {
            if (mode < 0) {
                binaryStrided(op, as, offs[0], sa, bs, offs[1], sb, os, oo + index, len);
            } else {
                binaryRun(op, mode, as, offs[0], bs, offs[1], os, oo + index, len);
            }
        });
    }

    /**
     * {@code out = op(in)}.
     *
     * @param out contiguous float32 of {@code in}'s shape
     * @throws IllegalArgumentException when a dtype is not float32 or {@code out}'s shape differs
     */
    public static void unary(ThreadPool pool, UnaryOp op, Tensor in, Tensor out) {
        String name = opName(op.name());
        TensorChecks.requireFloat(name, "input", in);
        TensorChecks.requireContiguous(name, "output", out, in.shape());
        StridedRows rows = StridedRows.of(in.shape(), in);
        long si = rows.innerStride(0);
        MemorySegment is = in.segment(), os = out.segment();
        long oo = out.offset();
        rows.forEach(pool, (offs, index, len) -> {
            if (si == 1) {
                unaryRun(op, is, offs[0], os, oo + index, len);
            } else {
                for (int i = 0; i < len; i++) {
                    os.setAtIndex(FL, oo + index + i, op.apply(is.getAtIndex(FL, offs[0] + i * si)));
                }
            }
        });
    }

    /**
     * Applies {@code act} to every element of {@code t} in place. {@code t} may have any strides except zero
     * strides on axes longer than 1 (a broadcast view would be activated several times).
     *
     * @throws IllegalArgumentException when {@code t} is not float32 or is a broadcast view
     */
    public static void activate(ThreadPool pool, Activation act, Tensor t) {
        TensorChecks.requireFloat("Activation", "tensor", t);
        TensorChecks.requireNoBroadcast("Activation", "tensor", t);
        if (act.kind() == Activation.Kind.NONE) {
            return;
        }
        StridedRows rows = StridedRows.of(t.shape(), t);
        long st = rows.innerStride(0);
        MemorySegment seg = t.segment();
        rows.forEach(pool, (offs, index, len) -> {
            if (st == 1) {
                activateRun(act, seg, offs[0], len);
            } else {
                for (int i = 0; i < len; i++) {
                    long at = offs[0] + i * st;
                    seg.setAtIndex(FL, at, act.apply(seg.getAtIndex(FL, at)));
                }
            }
        });
    }

    private static String opName(String constant) {
        return constant.charAt(0) + constant.substring(1).toLowerCase(java.util.Locale.ROOT);
    }

    // ---- binary runs: one method per op keeps the Vector API operator a constant in every loop ----

    private static void binaryRun(BinaryOp op, int mode, MemorySegment a, long ao, MemorySegment b, long bo,
                                  MemorySegment o, long oo, int n) {
        int done = switch (op) {
            case ADD -> add(mode, a, ao, b, bo, o, oo, n);
            case SUB -> sub(mode, a, ao, b, bo, o, oo, n);
            case MUL -> mul(mode, a, ao, b, bo, o, oo, n);
            case DIV -> div(mode, a, ao, b, bo, o, oo, n);
            case POW -> pow(mode, a, ao, b, bo, o, oo, n);
            case MIN -> min(mode, a, ao, b, bo, o, oo, n);
            case MAX -> max(mode, a, ao, b, bo, o, oo, n);
        };
        long sa = mode == SV ? 0 : 1, sb = mode == VS ? 0 : 1;
        binaryStrided(op, a, ao + done * sa, sa, b, bo + done * sb, sb, o, oo + done, n - done);
    }

    private static void binaryStrided(BinaryOp op, MemorySegment a, long ao, long sa, MemorySegment b, long bo,
                                      long sb, MemorySegment o, long oo, int n) {
        for (int i = 0; i < n; i++) {
            o.setAtIndex(FL, oo + i, op.apply(a.getAtIndex(FL, ao + i * sa), b.getAtIndex(FL, bo + i * sb)));
        }
    }

    /*
     * One method per op, each with a loop per run mode, so that the Vector API operator is a constant in every loop.
     * Vector API calls are written out in the loops rather than wrapped in small helpers: a helper that C2 has
     * already compiled on its own may not be inlined, and a vector crossing a call boundary is boxed (measured: a
     * loop through such a helper ran ten times slower after C2 compiled the helper separately). Each returns how
     * many leading elements it did; the caller finishes the tail.
     */
    private static int add(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.add(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.add(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.add(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int sub(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.sub(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.sub(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.sub(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int mul(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.mul(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.mul(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.mul(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int div(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.div(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.div(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.div(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int pow(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.lanewise(VectorOperators.POW, y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.lanewise(VectorOperators.POW, y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.lanewise(VectorOperators.POW, y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int min(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.min(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.min(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.min(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    private static int max(int mode, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo,
                           int n) {
        int up = S.loopBound(n);
        long ab = ao * 4, bb = bo * 4, ob = oo * 4;
        if (mode == VV) {
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.max(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else if (mode == VS) {
            FloatVector y = FloatVector.broadcast(S, b.getAtIndex(FL, bo));
            for (int i = 0; i < up; i += F) {
                FloatVector x = FloatVector.fromMemorySegment(S, a, ab + 4L * i, LE);
                x.max(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        } else {
            FloatVector x = FloatVector.broadcast(S, a.getAtIndex(FL, ao));
            for (int i = 0; i < up; i += F) {
                FloatVector y = FloatVector.fromMemorySegment(S, b, bb + 4L * i, LE);
                x.max(y).intoMemorySegment(o, ob + 4L * i, LE);
            }
        }
        return up;
    }

    // ---- unary runs ----

    private static void unaryRun(UnaryOp op, MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = switch (op) {
            case NEG -> neg(in, io, out, oo, n);
            case ABS -> abs(in, io, out, oo, n);
            case SQRT -> sqrt(in, io, out, oo, n);
            case EXP -> exp(in, io, out, oo, n);
            case LOG -> log(in, io, out, oo, n);
            case RELU -> relu(in, io, out, oo, n);
            case SIGMOID -> sigmoid(in, io, out, oo, n);
            case TANH -> tanh(in, io, out, oo, n);
            case ERF -> erf(in, io, out, oo, n);
        };
        for (int i = up; i < n; i++) {
            out.setAtIndex(FL, oo + i, op.apply(in.getAtIndex(FL, io + i)));
        }
    }

    private static int neg(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.neg().intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int abs(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.abs().intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int sqrt(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.sqrt().intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int exp(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.lanewise(VectorOperators.EXP).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int log(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.lanewise(VectorOperators.LOG).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int relu(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.max(0f).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int sigmoid(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.broadcast(1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f)).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static int tanh(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            x.lanewise(VectorOperators.TANH).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    /** The vector twin of {@link #erf(float)}, written out in its loop (see the note on the binary runs). */
    private static int erf(MemorySegment in, long io, MemorySegment out, long oo, int n) {
        int up = S.loopBound(n);
        for (int i = 0; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, in, (io + i) * 4, LE);
            FloatVector z = x.mul(x);
            FloatVector p = z.broadcast(P6).fma(z, z.broadcast(P5)).fma(z, z.broadcast(P4)).fma(z, z.broadcast(P3))
                    .fma(z, z.broadcast(P2)).fma(z, z.broadcast(P1)).fma(z, z.broadcast(P0));
            FloatVector small = x.mul(p);
            FloatVector ax = x.abs();
            FloatVector t = ax.min(4f);
            FloatVector q = t.broadcast(Q7).fma(t, t.broadcast(Q6)).fma(t, t.broadcast(Q5)).fma(t, t.broadcast(Q4))
                    .fma(t, t.broadcast(Q3)).fma(t, t.broadcast(Q2)).fma(t, t.broadcast(Q1)).fma(t, t.broadcast(Q0));
            FloatVector large = t.mul(t).neg().lanewise(VectorOperators.EXP).mul(q).neg().add(1f);
            large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
            small.blend(large, ax.compare(VectorOperators.GE, 1f)).intoMemorySegment(out, (oo + i) * 4, LE);
        }
        return up;
    }

    private static void activateRun(Activation act, MemorySegment seg, long off, int n) {
        act.applyInPlace(seg, off, n);
    }

    // ---- erf ----
    // Two pieces, coefficients fitted for this kernel (weighted least squares on Chebyshev nodes against a
    // 30-digit erf, then checked in float arithmetic on a dense grid of [0, 4.5]):
    //   |x| < 1:       erf(x) = x · P(x²), P of degree 6, relative error < 2e-7 (so tiny x keep full precision);
    //   1 <= |x|:      erf(x) = sign(x) · (1 - exp(-t²) · Q(t)), t = min(|x|, 4), Q of degree 7 approximating
    //                  erfc(t)·exp(t²); erf(4) rounds to 1f, so clamping at 4 is exact in float.
    // Absolute error of the float evaluation is below 1.4e-7 over the whole line.

    private static final float P0 = 1.128379225730896f, P1 = -0.3761262893676758f, P2 = 0.11283612251281738f,
            P3 = -0.026854809373617172f, P4 = 0.00519005348905921f, P5 = -0.0008024353883229196f,
            P6 = 7.898209878476337e-05f;
    private static final float Q0 = 0.9858204126358032f, Q1 = -1.046800971031189f, Q2 = 0.7898726463317871f,
            Q3 = -0.4288179576396942f, Q4 = 0.16236630082130432f, Q5 = -0.04035736992955208f,
            Q6 = 0.005878901109099388f, Q7 = -0.00037846851046197116f;

    /** The error function, absolute error below 2e-7; the vector loop of {@link UnaryOp#ERF} computes the same. */
    public static float erf(float x) {
        float ax = Math.abs(x);
        if (!(ax >= 1f)) {
            float z = x * x;
            float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P6, z, P5), z, P4), z, P3), z, P2), z, P1),
                    z, P0);
            return x * p;
        }
        float t = Math.min(ax, 4f);
        float q = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Q7, t, Q6), t, Q5), t, Q4), t, Q3),
                t, Q2), t, Q1), t, Q0);
        float r = 1f - (float) Math.exp(-t * t) * q;
        return x < 0 ? -r : r;
    }
}
