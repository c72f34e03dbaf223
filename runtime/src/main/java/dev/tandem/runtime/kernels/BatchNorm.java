package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inference batch normalization with its statistics folded once:
 * {@code y = act((x - mean) / sqrt(var + eps) · scale + bias)} becomes {@code y = act(a[c] · x + b[c])}, with
 * {@code a} and {@code b} computed in double at {@link #prepare} and rounded to float.
 *
 * <p>Input and output are contiguous float32 tensors of the same shape, rank at least 2, channels on axis 1:
 * {@code [N, C]}, {@code [N, C, L]}, {@code [N, C, H, W]}, ... The output may be the input itself (in place).
 * Planes ({@code n, c}) are vectorised along their spatial run; rank-2 inputs, whose planes are single elements,
 * are vectorised along the channels instead.
 *
 * <p>Instances are immutable and may be used by many threads at once; work is split over the given pool. The
 * scalar reference is {@link dev.tandem.runtime.kernels.reference.ReferenceBatchNorm}.
 */
public final class BatchNorm {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int F = Simd.F;
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final float[] a;
    private final float[] b;
    private final Activation act;

    private BatchNorm(float[] a, float[] b, Activation act) {
        this.a = a;
        this.b = b;
        this.act = act;
    }

    /**
     * Folds the per-channel parameters (all of length C) into {@code y = a·x + b}.
     *
     * @param act the activation fused after the normalization ({@link Activation#NONE} for none)
     * @throws IllegalArgumentException when the lengths differ, C is 0, or eps is negative or NaN
     */
    public static BatchNorm prepare(float[] scale, float[] bias, float[] mean, float[] var, float epsilon,
                                    Activation act) {
        int c = scale.length;
        if (c == 0 || bias.length != c || mean.length != c || var.length != c) {
            throw new IllegalArgumentException("BatchNorm needs scale, bias, mean and var of one length C >= 1; got "
                    + scale.length + ", " + bias.length + ", " + mean.length + ", " + var.length);
        }
        if (!(epsilon >= 0)) {
            throw new IllegalArgumentException("BatchNorm epsilon must be >= 0; got " + epsilon);
        }
        float[] a = new float[c];
        float[] b = new float[c];
        for (int i = 0; i < c; i++) {
            double ai = scale[i] / Math.sqrt((double) var[i] + epsilon);
            a[i] = (float) ai;
            b[i] = (float) (bias[i] - mean[i] * ai);
        }
        return new BatchNorm(a, b, act);
    }

    /**
     * Like {@link #prepare(float[], float[], float[], float[], float, Activation)} from float32 tensors of shape
     * {@code [C]} (any strides).
     */
    public static BatchNorm prepare(Tensor scale, Tensor bias, Tensor mean, Tensor var, float epsilon,
                                    Activation act) {
        return prepare(vector("scale", scale), vector("bias", bias), vector("mean", mean), vector("var", var),
                epsilon, act);
    }

    private static float[] vector(String role, Tensor t) {
        if (t.rank() != 1) {
            throw new IllegalArgumentException("BatchNorm " + role + " must be float32 [C]; got " + t);
        }
        TensorChecks.requireFloat("BatchNorm", role, t);
        return t.toFloatArray();
    }

    /** Number of channels C. */
    public int channels() {
        return a.length;
    }

    /** The folded multipliers {@code a[c] = scale / sqrt(var + eps)}, a copy. */
    public float[] multipliers() {
        return a.clone();
    }

    /** The folded offsets {@code b[c] = bias - mean · a[c]}, a copy. */
    public float[] offsets() {
        return b.clone();
    }

    /** The fused activation. */
    public Activation activation() {
        return act;
    }

    /**
     * Normalizes {@code in} into {@code out} (same shape, contiguous float32, channels on axis 1; {@code out} may
     * be {@code in}).
     *
     * @throws IllegalArgumentException naming expected and actual shapes when a tensor is wrong
     */
    public void forward(ThreadPool pool, Tensor in, Tensor out) {
        int c = a.length;
        if (in.rank() < 2 || in.shape().dim(1) != c) {
            throw new IllegalArgumentException("BatchNorm input must be float32 [N, " + c + ", ...] (rank >= 2); got "
                    + in);
        }
        TensorChecks.requireContiguous("BatchNorm", "input", in, in.rank(), "[N, " + c + ", ...]");
        TensorChecks.requireContiguous("BatchNorm", "output", out, in.shape());
        int n = in.shape().dim(0);
        long inner = in.size() / Math.max(1, (long) n * c);
        MemorySegment src = in.segment(), dst = out.segment();
        long io = in.offset(), oo = out.offset();
        if (n == 0 || inner == 0) {
            return;
        }
        if (inner == 1) {
            Chunks.run(pool, n, (long) n * c, (from, to) -> {
                for (int r = from; r < to; r++) {
                    rowOfChannels(src, io + (long) r * c, dst, oo + (long) r * c);
                }
            });
            return;
        }
        int len = Math.toIntExact(inner);
        int planes = n * c;
        Chunks.run(pool, planes, (long) planes * len, (from, to) -> {
            for (int pi = from; pi < to; pi++) {
                long off = (long) pi * len;
                plane(a[pi % c], b[pi % c], src, io + off, dst, oo + off, len);
            }
        });
    }

    private void plane(float ac, float bc, MemorySegment src, long io, MemorySegment dst, long oo, int len) {
        FloatVector av = FloatVector.broadcast(S, ac), bv = FloatVector.broadcast(S, bc);
        int up = S.loopBound(len), i = 0;
        for (; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, src, (io + i) * 4, LE);
            x.fma(av, bv).intoMemorySegment(dst, (oo + i) * 4, LE);
        }
        for (; i < len; i++) {
            dst.setAtIndex(FL, oo + i, Math.fma(src.getAtIndex(FL, io + i), ac, bc));
        }
        act.applyInPlace(dst, oo, len);
    }

    /** One row of a rank-2 input: element {@code i} is channel {@code i}. */
    private void rowOfChannels(MemorySegment src, long io, MemorySegment dst, long oo) {
        int c = a.length, up = S.loopBound(c), i = 0;
        for (; i < up; i += F) {
            FloatVector x = FloatVector.fromMemorySegment(S, src, (io + i) * 4, LE);
            FloatVector y = x.fma(FloatVector.fromArray(S, a, i), FloatVector.fromArray(S, b, i));
            y.intoMemorySegment(dst, (oo + i) * 4, LE);
        }
        for (; i < c; i++) {
            dst.setAtIndex(FL, oo + i, Math.fma(src.getAtIndex(FL, io + i), a[i], b[i]));
        }
        act.applyInPlace(dst, oo, c);
    }
}
