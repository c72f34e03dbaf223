package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.kernels.Simd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 fast paths of the training ops: SIMD loops over runs of contiguous floats in memory segments (element
 * offsets), float arithmetic, and sums returned as double (each call sums one run — a plane of a few hundred to a
 * few thousand values — so the float partial sums stay accurate and the caller accumulates runs in double). The
 * float64 paths of the ops ({@link Doubles}) are their reference. Each loop is a vector loop followed by a scalar
 * tail: no conditional reads (docs/architecture.md).
 */
final class TrainKernels {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    private static final int VL = Simd.F;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private TrainKernels() {
    }

    /**
     * {@code Σ (x - pivot)} over {@code x[off .. off+n)}: with a pivot near the values (one of them) the float
     * partial sums keep their precision when the mean is large against the spread.
     */
    static double sum(MemorySegment x, long off, int n, float pivot) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i + VL <= n; i += VL) {
            acc = acc.add(FloatVector.fromMemorySegment(S, x, (off + i) * 4, LE).sub(pivot));
        }
        double s = lanes(acc);
        for (; i < n; i++) {
            s += x.getAtIndex(F, off + i) - pivot;
        }
        return s;
    }

    /** {@code Σ (x - mean)²} over {@code x[off .. off+n)}. */
    static double sumSquaredDeviation(MemorySegment x, long off, int n, float mean) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i + VL <= n; i += VL) {
            FloatVector d = FloatVector.fromMemorySegment(S, x, (off + i) * 4, LE).sub(mean);
            acc = d.fma(d, acc);
        }
        double s = lanes(acc);
        for (; i < n; i++) {
            double d = x.getAtIndex(F, off + i) - mean;
            s += d * d;
        }
        return s;
    }

    /**
     * {@code y = ((x - mean) - meanLow)·scale + shift} over n elements (then {@code max(y, 0)} when {@code relu}):
     * the mean as a float plus its rounding error {@code meanLow}, so that a mean large against the spread loses
     * nothing (x - mean is exact near the mean). Relu as the Relu op computes it: negative lanes become 0, NaN and
     * {@code -0.0} stay (bit for bit the unfused Relu's output).
     */
    static void normalize(MemorySegment x, long xOff, MemorySegment y, long yOff, int n, float mean, float meanLow,
                          float scale, float shift, boolean relu) {
        int i = 0;
        if (relu) {
            for (; i + VL <= n; i += VL) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean).sub(meanLow)
                        .fma(scale, shift);
                v.blend(0f, v.compare(VectorOperators.LT, 0f)).intoMemorySegment(y, (yOff + i) * 4, LE);
            }
        } else {
            for (; i + VL <= n; i += VL) {
                FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean).sub(meanLow).fma(scale, shift)
                        .intoMemorySegment(y, (yOff + i) * 4, LE);
            }
        }
        for (; i < n; i++) {
            float v = Math.fma(x.getAtIndex(F, xOff + i) - mean - meanLow, scale, shift);
            y.setAtIndex(F, yOff + i, relu && v < 0f ? 0f : v);
        }
    }

    /**
     * The two sums of the batch-norm gradient over one run: {@code out[0] += Σ dy}, {@code out[1] += Σ dy·(x -
     * mean)}; with {@code mask} (the output of a fused Relu, else null) dy is {@code mask > 0 ? dy : 0}.
     */
    static void gradSums(MemorySegment dy, long dyOff, MemorySegment mask, long maskOff, MemorySegment x, long xOff,
                         int n, float mean, double[] out) {
        FloatVector sd = FloatVector.zero(S), sdx = FloatVector.zero(S), zero = FloatVector.zero(S);
        int i = 0;
        if (mask != null) {
            for (; i + VL <= n; i += VL) {
                FloatVector g = FloatVector.fromMemorySegment(S, dy, (dyOff + i) * 4, LE);
                g = zero.blend(g, FloatVector.fromMemorySegment(S, mask, (maskOff + i) * 4, LE)
                        .compare(VectorOperators.GT, 0f));
                FloatVector d = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean);
                sd = sd.add(g);
                sdx = g.fma(d, sdx);
            }
        } else {
            for (; i + VL <= n; i += VL) {
                FloatVector g = FloatVector.fromMemorySegment(S, dy, (dyOff + i) * 4, LE);
                FloatVector d = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean);
                sd = sd.add(g);
                sdx = g.fma(d, sdx);
            }
        }
        double a = lanes(sd), b = lanes(sdx);
        for (; i < n; i++) {
            float g = masked(dy.getAtIndex(F, dyOff + i), mask, maskOff + i);
            a += g;
            b += (double) g * (x.getAtIndex(F, xOff + i) - mean);
        }
        out[0] += a;
        out[1] += b;
    }

    /** {@code g}, or 0 where the fused Relu's output {@code mask[i]} is not positive (no mask: g). */
    private static float masked(float g, MemorySegment mask, long i) {
        return mask == null || mask.getAtIndex(F, i) > 0f ? g : 0f;
    }

    /** {@code dx = a·dy + b·(x - mean) + c} over n elements; dy masked as in {@link #gradSums}. */
    static void gradApply(MemorySegment dy, long dyOff, MemorySegment mask, long maskOff, MemorySegment x, long xOff,
                          MemorySegment dx, long dxOff, int n, float a, float b, float mean, float c) {
        int i = 0;
        if (mask != null) {
            FloatVector zero = FloatVector.zero(S);
            for (; i + VL <= n; i += VL) {
                FloatVector g = FloatVector.fromMemorySegment(S, dy, (dyOff + i) * 4, LE);
                g = zero.blend(g, FloatVector.fromMemorySegment(S, mask, (maskOff + i) * 4, LE)
                        .compare(VectorOperators.GT, 0f));
                FloatVector d = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean);
                d.mul(b).add(g.fma(a, c)).intoMemorySegment(dx, (dxOff + i) * 4, LE);
            }
        } else {
            for (; i + VL <= n; i += VL) {
                FloatVector g = FloatVector.fromMemorySegment(S, dy, (dyOff + i) * 4, LE);
                FloatVector d = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, LE).sub(mean);
                d.mul(b).add(g.fma(a, c)).intoMemorySegment(dx, (dxOff + i) * 4, LE);
            }
        }
        for (; i < n; i++) {
            float g = masked(dy.getAtIndex(F, dyOff + i), mask, maskOff + i);
            float d = x.getAtIndex(F, xOff + i) - mean;
            dx.setAtIndex(F, dxOff + i, Math.fma(d, b, Math.fma(g, a, c)));
        }
    }

    /** {@code dx = y > 0 ? dy : 0} over {@code [from, to)} (NaN in y gives 0, as the scalar rule). */
    static void reluGrad(MemorySegment dy, long dyOff, MemorySegment y, long yOff, MemorySegment dx, long dxOff,
                         long from, long to) {
        FloatVector zero = FloatVector.zero(S);
        long i = from;
        for (; i + VL <= to; i += VL) {
            FloatVector g = FloatVector.fromMemorySegment(S, dy, (dyOff + i) * 4, LE);
            VectorMask<Float> pos = FloatVector.fromMemorySegment(S, y, (yOff + i) * 4, LE)
                    .compare(VectorOperators.GT, 0f);
            zero.blend(g, pos).intoMemorySegment(dx, (dxOff + i) * 4, LE);
        }
        for (; i < to; i++) {
            float g = dy.getAtIndex(F, dyOff + i);
            dx.setAtIndex(F, dxOff + i, y.getAtIndex(F, yOff + i) > 0f ? g : 0f);
        }
    }

    /** Long and double lanes as many as a {@link #S} vector's bits hold; floats at half that width, as many lanes. */
    private static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, S.vectorShape());
    private static final VectorSpecies<Double> DS = VectorSpecies.of(double.class, S.vectorShape());
    private static final VectorSpecies<Float> HS = VectorSpecies.of(float.class,
            VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final int LL = LS.length();

    /**
     * Dropout over {@code [from, to)}: element i is kept where {@link DropoutTrain#uniform}{@code (seed, i) >= ratio},
     * i.e. where the hash's top 53 bits are at least {@code threshold = ceil(ratio · 2⁵³)} (the same test, in
     * integers); {@code y = kept ? (float) (x · keep) : 0} (the product in double, rounded once), {@code mask = kept ?
     * keepF : 0}. The hash runs on long lanes, the product on double lanes: bit for bit the scalar loop.
     */
    static void dropout(MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment mask, long mOff,
                        long from, long to, long seed, long threshold, double ratio, double keep, float keepF) {
        long i = from;
        LongVector iota = LongVector.zero(LS).addIndex(1);
        long base = seed * DropoutTrain.SEED_MIX + DropoutTrain.OFFSET;
        FloatVector zero = FloatVector.zero(HS);
        for (; i + LL <= to; i += LL) {
            LongVector z = iota.add(i).mul(DropoutTrain.INDEX_MIX).add(base);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(DropoutTrain.INDEX_MIX);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(DropoutTrain.OFFSET);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            VectorMask<Float> kept = z.lanewise(VectorOperators.LSHR, 11).compare(VectorOperators.GE, threshold)
                    .cast(HS);
            DoubleVector xd = (DoubleVector) FloatVector.fromMemorySegment(HS, x, (xOff + i) * 4, LE)
                    .convertShape(VectorOperators.F2D, DS, 0);
            FloatVector yv = (FloatVector) xd.mul(keep).convertShape(VectorOperators.D2F, HS, 0);
            zero.blend(yv, kept).intoMemorySegment(y, (yOff + i) * 4, LE);
            zero.blend(keepF, kept).intoMemorySegment(mask, (mOff + i) * 4, LE);
        }
        for (; i < to; i++) {
            boolean kept = DropoutTrain.uniform(seed, i) >= ratio;
            y.setAtIndex(F, yOff + i, kept ? (float) (x.getAtIndex(F, xOff + i) * keep) : 0f);
            mask.setAtIndex(F, mOff + i, kept ? keepF : 0f);
        }
    }

    /** {@code Σ g²} over n elements. */
    static double sumSquares(MemorySegment g, long off, long n) {
        FloatVector acc = FloatVector.zero(S);
        double s = 0;
        long i = 0;
        // Float partial sums over blocks of 4096 values, accumulated in double.
        while (i < n) {
            long end = Math.min(n, i + 4096);
            for (; i + VL <= end; i += VL) {
                FloatVector v = FloatVector.fromMemorySegment(S, g, (off + i) * 4, LE);
                acc = v.fma(v, acc);
            }
            s += lanes(acc);
            acc = FloatVector.zero(S);
            for (; i < end; i++) {
                float v = g.getAtIndex(F, off + i);
                s += (double) v * v;
            }
        }
        return s;
    }

    /**
     * One SGD update over n elements, in place: {@code g' = g·clip + wd·p}; with momentum {@code m = μ·m + g'},
     * {@code g' = nesterov ? g' + μ·m : m}; {@code p -= lr·g'}.
     */
    static void sgd(MemorySegment p, long pOff, MemorySegment g, long gOff, MemorySegment m, long mOff, long n,
                    float lr, float clip, float wd, float mu, boolean momentum, boolean nesterov) {
        long i = 0;
        for (; i + VL <= n; i += VL) {
            FloatVector pv = FloatVector.fromMemorySegment(S, p, (pOff + i) * 4, LE);
            FloatVector gv = FloatVector.fromMemorySegment(S, g, (gOff + i) * 4, LE).mul(clip).add(pv.mul(wd));
            if (momentum) {
                FloatVector mv = FloatVector.fromMemorySegment(S, m, (mOff + i) * 4, LE).mul(mu).add(gv);
                mv.intoMemorySegment(m, (mOff + i) * 4, LE);
                gv = nesterov ? mv.mul(mu).add(gv) : mv;
            }
            pv.sub(gv.mul(lr)).intoMemorySegment(p, (pOff + i) * 4, LE);
        }
        for (; i < n; i++) {
            float pj = p.getAtIndex(F, pOff + i);
            float gj = g.getAtIndex(F, gOff + i) * clip + pj * wd;
            if (momentum) {
                float mj = Math.fma(m.getAtIndex(F, mOff + i), mu, gj);
                m.setAtIndex(F, mOff + i, mj);
                gj = nesterov ? Math.fma(mj, mu, gj) : mj;
            }
            p.setAtIndex(F, pOff + i, pj - gj * lr);
        }
    }

    /** Lane indices for two-vector permutes: the even and odd lanes of a·b, and a, b interleaved (low, high). */
    private static final float[] EVEN = lanes(0, 2), ODD = lanes(1, 2);
    private static final float[] LOW = interleaved(0), HIGH = interleaved(VL / 2);

    private static float[] lanes(int first, int step) {
        float[] l = new float[VL];
        for (int i = 0; i < VL; i++) {
            l[i] = first + step * i;
        }
        return l;
    }

    private static float[] interleaved(int first) {
        float[] l = new float[VL];
        for (int i = 0; i < VL; i++) {
            l[i] = (i & 1) == 0 ? first + i / 2 : VL + first + i / 2;
        }
        return l;
    }

    /**
     * The gradient of a 2×2 stride-2 max pool (no padding, no dilation) over one plane, straight from and to memory
     * (element offsets): each window's gradient goes to its first maximum in row-major order (a later element wins
     * only when strictly greater, as the generic path and PyTorch), the others get 0; input rows and columns past
     * the last whole window get 0. {@code x} and {@code dx} are h×w, {@code dy} oh×ow, with {@code oh = h/2},
     * {@code ow = w/2}. VL outputs at a time: each row pair's inputs are split into even and odd columns by
     * permutes, and the four gradients interleaved back.
     */
    static void maxPool2x2Grad(MemorySegment x, long xOff, MemorySegment dy, long dyOff, MemorySegment dx,
                               long dxOff, int h, int w, int oh, int ow) {
        FloatVector even = FloatVector.fromArray(S, EVEN, 0), odd = FloatVector.fromArray(S, ODD, 0);
        FloatVector low = FloatVector.fromArray(S, LOW, 0), high = FloatVector.fromArray(S, HIGH, 0);
        FloatVector zero = FloatVector.zero(S);
        for (int oy = 0; oy < oh; oy++) {
            long r0 = (xOff + 2L * oy * w) * 4, r1 = r0 + 4L * w;
            long d0 = (dxOff + 2L * oy * w) * 4, d1 = d0 + 4L * w;
            long g0 = (dyOff + (long) oy * ow) * 4;
            for (int ox = 0; ox < ow; ox += VL) {
                int n = Math.min(VL, ow - ox);
                VectorMask<Float> first = S.indexInRange(0, 2 * n), second = S.indexInRange(VL, 2 * n);
                VectorMask<Float> outs = S.indexInRange(0, n);
                long at = 8L * ox;
                FloatVector p = FloatVector.fromMemorySegment(S, x, r0 + at, LE, first);
                FloatVector q = FloatVector.fromMemorySegment(S, x, r0 + at + 4L * VL, LE, second);
                FloatVector a = even.selectFrom(p, q), b = odd.selectFrom(p, q);
                p = FloatVector.fromMemorySegment(S, x, r1 + at, LE, first);
                q = FloatVector.fromMemorySegment(S, x, r1 + at + 4L * VL, LE, second);
                FloatVector c = even.selectFrom(p, q), d = odd.selectFrom(p, q);
                FloatVector g = FloatVector.fromMemorySegment(S, dy, g0 + 4L * ox, LE, outs);
                VectorMask<Float> pb = b.compare(VectorOperators.GT, a);
                FloatVector best = a.blend(b, pb);
                VectorMask<Float> pc = c.compare(VectorOperators.GT, best);
                best = best.blend(c, pc);
                VectorMask<Float> pd = d.compare(VectorOperators.GT, best);
                VectorMask<Float> top = pd.or(pc).not();
                FloatVector ga = zero.blend(g, top.andNot(pb)), gb = zero.blend(g, top.and(pb));
                FloatVector gc = zero.blend(g, pc.andNot(pd)), gd = zero.blend(g, pd);
                low.selectFrom(ga, gb).intoMemorySegment(dx, d0 + at, LE, first);
                high.selectFrom(ga, gb).intoMemorySegment(dx, d0 + at + 4L * VL, LE, second);
                low.selectFrom(gc, gd).intoMemorySegment(dx, d1 + at, LE, first);
                high.selectFrom(gc, gd).intoMemorySegment(dx, d1 + at + 4L * VL, LE, second);
            }
            if (2 * ow < w) {
                dx.set(F, d0 + 8L * ow, 0f);
                dx.set(F, d1 + 8L * ow, 0f);
            }
        }
        if (2 * oh < h) {
            dx.asSlice((dxOff + 2L * oh * w) * 4, 4L * w).fill((byte) 0);
        }
    }

    /**
     * The sum of a vector's lanes, in lane order, in double. Not {@code reduceLanes(ADD)}: its order differs
     * between the interpreter and C2's intrinsic, so the same data could sum differently early and late in a run,
     * and training would not be reproducible bit for bit. Called once per reduction, outside the hot loops.
     */
    static double lanes(FloatVector v) {
        float[] a = new float[VL];
        v.intoArray(a, 0);
        double s = 0;
        for (float f : a) {
            s += f;
        }
        return s;
    }
}
