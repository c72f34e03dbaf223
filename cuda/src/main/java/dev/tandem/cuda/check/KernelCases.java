package dev.tandem.cuda.check;

import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * One check per kernel family: random inputs of odd sizes, the kernel run on a {@link KernelRunner}, the result
 * compared with {@link KernelReference}. The same cases run on the GPU ({@link GpuCheck}) and, in tests, on a CPU
 * emulator of CUDA's execution model, so a GPU run checks code whose logic was already checked here.
 */
public final class KernelCases {
    /** Tolerances for float32 kernels that reorder sums (block reductions, fused expressions). */
    static final double ATOL = 1e-5;
    static final double RTOL = 1e-4;

    /** A named case. */
    public record Case(String name, Function<KernelRunner, Outcome> body) {
        /** Runs it; an exception is a failed outcome naming it. */
        public Outcome run(KernelRunner runner) {
            try {
                return body.apply(runner);
            } catch (RuntimeException e) {
                return new Outcome(Double.POSITIVE_INFINITY, e.toString());
            }
        }
    }

    private KernelCases() {
    }

    /** Every case, in a fixed order. */
    public static List<Case> all() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("elementwise add/mul/axpy/scale", KernelCases::elementwise));
        c.add(new Case("relu and relu_grad", KernelCases::relu));
        c.add(new Case("bias+relu epilogue (NCHW, rows)", KernelCases::biasAct));
        c.add(new Case("bias gradients (rows, NCHW)", KernelCases::biasGrad));
        c.add(new Case("max pool 2x2/2 fwd+bwd", r -> maxPool(r, new KernelReference.Pool(6, 7, 9, 2, 2, 2, 2, 0,
                0))));
        c.add(new Case("max pool 3x3/2 pad 1 fwd+bwd (overlap, ties)", r -> maxPool(r,
                new KernelReference.Pool(5, 8, 7, 3, 3, 2, 2, 1, 1))));
        c.add(new Case("max pool 2x2/2 bwd, windows tiling the input", r -> maxPoolTiled(r,
                new KernelReference.Pool(6, 8, 10, 2, 2, 2, 2, 0, 0))));
        c.add(new Case("max pool 3x3/3 bwd, windows tiling the input", r -> maxPoolTiled(r,
                new KernelReference.Pool(4, 9, 6, 3, 3, 3, 3, 0, 0))));
        c.add(new Case("global avg pool fwd+bwd", KernelCases::globalAvgPool));
        c.add(new Case("softmax cross-entropy (smoothing 0.1)", KernelCases::softmaxCrossEntropy));
        c.add(new Case("sum and sum of squares", KernelCases::reductions));
        c.add(new Case("SGD step (Nesterov, decay, clip)", KernelCases::sgd));
        c.add(new Case("Adam and AdamW steps", KernelCases::adam));
        c.add(new Case("multi-tensor SGD step and sums of squares", KernelCases::sgdMulti));
        c.add(new Case("float32 <-> bfloat16", KernelCases::casts));
        c.add(new Case("dropout with the CPU's masks", KernelCases::dropout));
        c.add(new Case("cross-entropy gradient from log_prob", KernelCases::crossEntropyGrad));
        c.add(new Case("inference batch norm", KernelCases::batchNormInfer));
        c.add(new Case("top-1 count (argmax, equal, cast, sum)", KernelCases::topOne));
        c.add(new Case("SGD hyper-parameters (clip, non-finite)", KernelCases::sgdHyper));
        c.add(new Case("clip and its gradient", KernelCases::clip));
        c.add(new Case("Adam hyper-parameters (bias corrections, clip)", KernelCases::adamHyper));
        c.add(new Case("batch norm split over blocks, fwd+bwd", r -> batchNormSplit(r, 0, 1)));
        c.add(new Case("batch norm split, mean 1000x the spread (after ReLU6)", r -> batchNormSplit(r, 6, 0.006)));
        c.add(new Case("batch norm, saturated channel, pivot an outlier", r -> batchNormSplit(r, 0, 1, true)));
        return c;
    }

    static float[] random(SplittableRandom r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return a;
    }

    private static Dim3 grid(KernelRunner r, long n) {
        // A small cap keeps the grid-stride loops honest (several iterations per thread).
        return Dim3.of((int) Math.min(7, (n + r.blockSize() - 1) / r.blockSize()));
    }

    private static KernelArgs args(KernelRunner r) {
        return new KernelArgs(r.arena());
    }

    private static Outcome elementwise(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(1);
        int n = 3001;
        float[] a = random(rnd, n, -2, 2), b = random(rnd, n, -2, 2);
        long da = r.upload(a), db = r.upload(b), dy = r.zeros(4L * n), dz = r.upload(b);
        Dim3 g = grid(r, n), blk = Dim3.of(r.blockSize());
        r.launch("tandem_add", g, blk, args(r).pointer(da).pointer(db).pointer(dy).i64(n));
        double[] sum = new double[n], prod = new double[n], axpy = new double[n], scaled = new double[n];
        for (int i = 0; i < n; i++) {
            sum[i] = (double) a[i] + b[i];
            prod[i] = (double) a[i] * b[i];
            axpy[i] = b[i] + 0.5 * a[i];
            scaled[i] = -3.0 * a[i];
        }
        Outcome o = Outcome.compare("add", r.floats(dy, n), sum, 0, 1e-7);
        r.launch("tandem_mul", g, blk, args(r).pointer(da).pointer(db).pointer(dy).i64(n));
        o = o.and(Outcome.compare("mul", r.floats(dy, n), prod, 0, 1e-7));
        r.launch("tandem_axpy", g, blk, args(r).f32(0.5f).pointer(da).pointer(dz).i64(n));
        o = o.and(Outcome.compare("axpy", r.floats(dz, n), axpy, 1e-7, 1e-6));
        r.launch("tandem_scale", g, blk, args(r).f32(-3f).pointer(da).pointer(dy).i64(n));
        return o.and(Outcome.compare("scale", r.floats(dy, n), scaled, 0, 1e-7));
    }

    private static Outcome relu(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(2);
        int n = 8199; // over four grid strides of 7 blocks of 256: the four-at-a-time loop and its tail both run
        float[] x = random(rnd, n, -1, 1), dy = random(rnd, n, -1, 1);
        x[0] = 0f;
        long dx = r.upload(x), dd = r.upload(dy), out = r.zeros(4L * n), grad = r.zeros(4L * n);
        r.launch("tandem_relu", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(out).i64(n));
        float[] y = r.floats(out, n);
        r.launch("tandem_relu_grad", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dd).pointer(out)
                .pointer(grad).i64(n));
        return Outcome.compare("relu", y, KernelReference.relu(x), 0, 0)
                .and(Outcome.compare("relu_grad", r.floats(grad, n), KernelReference.reluGrad(dy, y), 0, 0));
    }

    private static Outcome biasAct(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(3);
        int batch = 3, ch = 5, plane = 7 * 9, n = batch * ch * plane;
        float[] y = random(rnd, n, -1, 1), bias = random(rnd, ch, -0.5, 0.5);
        long dy = r.upload(y), db = r.upload(bias);
        r.launch("tandem_bias_act_nchw", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dy).pointer(db).i32(ch)
                .i64(plane).i64(n).i32(1));
        Outcome o = Outcome.compare("bias_act_nchw relu", r.floats(dy, n), KernelReference.biasActNchw(y, bias, ch,
                plane, true), 1e-7, 1e-6);
        int rows = 13, cols = 11;
        float[] g = random(rnd, rows * cols, -1, 1), gb = random(rnd, cols, -1, 1);
        long dg = r.upload(g), dgb = r.upload(gb);
        r.launch("tandem_bias_act_rows", grid(r, rows * cols), Dim3.of(r.blockSize()), args(r).pointer(dg)
                .pointer(dgb).i32(cols).i64((long) rows * cols).i32(0));
        // Rows layout is NCHW with one row per "batch", cols channels and a plane of 1.
        return o.and(Outcome.compare("bias_act_rows", r.floats(dg, rows * cols), KernelReference.biasActNchw(g, gb,
                cols, 1, false), 1e-7, 1e-6));
    }

    private static Outcome biasGrad(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(4);
        int rows = 37, cols = 10;
        float[] dy = random(rnd, rows * cols, -1, 1);
        long d = r.upload(dy), db = r.zeros(4L * cols);
        r.launch("tandem_bias_grad_rows", Dim3.cover(cols, r.blockSize()), Dim3.of(r.blockSize()), args(r)
                .pointer(d).pointer(db).i32(rows).i32(cols));
        Outcome o = Outcome.compare("bias_grad_rows", r.floats(db, cols), KernelReference.biasGradRows(dy, rows, cols),
                ATOL, RTOL);
        int batch = 4, ch = 6, plane = 5 * 5;
        float[] dy2 = random(rnd, batch * ch * plane, -1, 1);
        long d2 = r.upload(dy2), db2 = r.zeros(4L * ch);
        r.launch("tandem_bias_grad_nchw", Dim3.of(ch), Dim3.of(r.blockSize()), args(r).pointer(d2).pointer(db2)
                .i32(batch).i32(ch).i64(plane));
        return o.and(Outcome.compare("bias_grad_nchw", r.floats(db2, ch), KernelReference.biasGradNchw(dy2, batch, ch,
                plane), ATOL, RTOL));
    }

    private static Outcome maxPool(KernelRunner r, KernelReference.Pool p) {
        SplittableRandom rnd = new SplittableRandom(5);
        int n = p.planes() * p.h() * p.w(), on = p.planes() * p.oh() * p.ow();
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(5) - 2; // small integers: ties exercise the first-maximum rule
        }
        float[] dy = random(rnd, on, -1, 1);
        long dx = r.upload(x), dyv = r.upload(dy), y = r.zeros(4L * on), arg = r.zeros(4L * on), grad = r.zeros(4L * n);
        r.launch("tandem_maxpool_fwd", grid(r, on), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(y)
                .pointer(arg).i32(p.planes()).i32(p.h()).i32(p.w()).i32(p.oh()).i32(p.ow()).i32(p.kh()).i32(p.kw())
                .i32(p.sh()).i32(p.sw()).i32(p.ph()).i32(p.pw()));
        Object[] ref = KernelReference.maxPool(x, p);
        int[] argmax = r.ints(arg, on);
        long[] got = new long[on];
        for (int i = 0; i < on; i++) {
            got[i] = argmax[i];
        }
        Outcome o = Outcome.compare("maxpool values", r.floats(y, on), (double[]) ref[0], 0, 0)
                .and(Outcome.exact("argmax", got, (long[]) ref[1]));
        r.launch("tandem_maxpool_bwd", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dyv).pointer(arg)
                .pointer(grad).i32(p.planes()).i32(p.h()).i32(p.w()).i32(p.oh()).i32(p.ow()).i32(p.kh()).i32(p.kw())
                .i32(p.sh()).i32(p.sw()).i32(p.ph()).i32(p.pw()));
        return o.and(Outcome.compare("maxpool grad", r.floats(grad, n), KernelReference.maxPoolGrad(dy,
                (long[]) ref[1], p), 1e-7, 1e-6));
    }

    /** The one-pass gradient for windows that tile the input, against the reference; dx starts as NaN. */
    private static Outcome maxPoolTiled(KernelRunner r, KernelReference.Pool p) {
        SplittableRandom rnd = new SplittableRandom(7);
        int n = p.planes() * p.h() * p.w(), on = p.planes() * p.oh() * p.ow();
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(5) - 2; // ties: the first maximum takes the gradient
        }
        float[] dy = random(rnd, on, -1, 1);
        float[] poison = new float[n];
        java.util.Arrays.fill(poison, Float.NaN);
        long dx = r.upload(x), dyv = r.upload(dy), grad = r.upload(poison);
        r.launch("tandem_maxpool_bwd_tiled", grid(r, on), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(dyv)
                .pointer(grad).i32(p.planes()).i32(p.oh()).i32(p.ow()).i32(p.kh()).i32(p.kw()));
        long[] argmax = (long[]) KernelReference.maxPool(x, p)[1];
        return Outcome.compare("maxpool grad", r.floats(grad, n), KernelReference.maxPoolGrad(dy, argmax, p), 0, 0);
    }

    private static Outcome globalAvgPool(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(6);
        int planes = 7, plane = 11 * 13;
        float[] x = random(rnd, planes * plane, -1, 1), dy = random(rnd, planes, -1, 1);
        long dx = r.upload(x), y = r.zeros(4L * planes), ddy = r.upload(dy), grad = r.zeros(4L * planes * plane);
        r.launch("tandem_global_avgpool_fwd", Dim3.of(planes), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(y)
                .i64(plane));
        r.launch("tandem_global_avgpool_bwd", grid(r, (long) planes * plane), Dim3.of(r.blockSize()), args(r)
                .pointer(ddy).pointer(grad).i64(plane).i64((long) planes * plane));
        double[] expectGrad = new double[planes * plane];
        for (int i = 0; i < expectGrad.length; i++) {
            expectGrad[i] = (double) dy[i / plane] / plane;
        }
        return Outcome.compare("global avg pool", r.floats(y, planes), KernelReference.globalAvgPool(x, planes, plane),
                ATOL, RTOL).and(Outcome.compare("global avg pool grad", r.floats(grad, planes * plane), expectGrad,
                1e-8, 1e-6));
    }

    private static Outcome softmaxCrossEntropy(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(9);
        int rows = 19, classes = 10;
        float[] z = random(rnd, rows * classes, -4, 4);
        long[] labels = new long[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = rnd.nextInt(classes);
        }
        long dz = r.upload(z), dl = r.upload(labels), loss = r.zeros(4L * rows), lp = r.zeros(4L * rows * classes),
                grad = r.zeros(4L * rows * classes);
        float scale = 1f / rows;
        r.launch("tandem_softmax_xent", Dim3.cover(rows, r.blockSize()), Dim3.of(r.blockSize()), args(r).pointer(dz)
                .pointer(dl).pointer(loss).pointer(lp).pointer(grad).i32(rows).i32(classes).f32(0.1f).f32(scale));
        double[][] ref = KernelReference.softmaxCrossEntropy(z, labels, rows, classes, 0.1f, scale);
        return Outcome.compare("loss rows", r.floats(loss, rows), ref[0], ATOL, RTOL)
                .and(Outcome.compare("log_prob", r.floats(lp, rows * classes), ref[1], ATOL, RTOL))
                .and(Outcome.compare("dlogits", r.floats(grad, rows * classes), ref[2], 1e-6, RTOL));
    }

    private static Outcome reductions(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(10);
        int n = 10007;
        float[] x = random(rnd, n, -1, 1);
        Dim3 g = grid(r, n);
        long dx = r.upload(x), partial = r.zeros(4L * g.x()), out = r.zeros(8);
        double s = 0, sq = 0, abs = 0;
        for (float v : x) {
            s += v;
            sq += (double) v * v;
            abs += Math.abs(v);
        }
        r.launch("tandem_sum_partial", g, Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(partial).i64(n));
        r.launch("tandem_sum_final", Dim3.of(1), Dim3.of(r.blockSize()), args(r).pointer(partial).pointer(out)
                .i32(g.x()).f32(0.5f));
        // A sum's rounding scales with the sum of magnitudes, not with the (small) result.
        Outcome o = Outcome.compare("sum", r.floats(out, 1), new double[] {0.5 * s}, 1e-6 * abs, 0);
        r.launch("tandem_sumsq_partial", g, Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(partial).i64(n));
        r.launch("tandem_sum_final", Dim3.of(1), Dim3.of(r.blockSize()), args(r).pointer(partial).pointer(out)
                .i32(g.x()).f32(1f));
        return o.and(Outcome.compare("sum of squares", r.floats(out, 1), new double[] {sq}, 0, 1e-5));
    }

    private static Outcome sgd(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(11);
        int n = 1001;
        float[] p = random(rnd, n, -1, 1), g = random(rnd, n, -1, 1), m = random(rnd, n, -0.1, 0.1);
        long dp = r.upload(p), dg = r.upload(g), dm = r.upload(m), hp = r.upload(new float[] {0.05f, 0.9f, 0.8f});
        r.launch("tandem_sgd_step", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dp).pointer(dg).pointer(dm)
                .i64(n).pointer(hp).f32(5e-4f).i32(1));
        double[][] ref = KernelReference.sgd(p, g, m, 0.05f, 0.9f, 0.8f, 5e-4f, true);
        Outcome o = Outcome.compare("nesterov p", r.floats(dp, n), ref[0], 1e-6, 1e-5)
                .and(Outcome.compare("nesterov m", r.floats(dm, n), ref[1], 1e-6, 1e-5));
        long dp2 = r.upload(p), dm2 = r.upload(m);
        r.launch("tandem_sgd_step", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dp2).pointer(dg).pointer(dm2)
                .i64(n).pointer(hp).f32(0f).i32(0));
        double[][] plain = KernelReference.sgd(p, g, m, 0.05f, 0.9f, 0.8f, 0, false);
        return o.and(Outcome.compare("plain p", r.floats(dp2, n), plain[0], 1e-6, 1e-5));
    }

    /**
     * The one-launch kernels over several tensors give exactly what one launch per tensor gives: the sums of squares'
     * partials and the SGD updates, bit for bit (three tensors of different sizes, per-tensor weight decay).
     */
    private static Outcome sgdMulti(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(21);
        int[] sizes = {1001, 37, 4099};
        float[] decay = {5e-4f, 0f, 1e-3f};
        int k = sizes.length;
        Dim3 g = grid(r, 4099);
        long hp = r.upload(new float[] {0.05f, 0.9f, 0.8f});
        long[] ps = new long[k], gs = new long[k], ms = new long[k], ns = new long[k];
        long[] ps1 = new long[k], ms1 = new long[k], gs1 = new long[k];
        for (int t = 0; t < k; t++) {
            int n = sizes[t];
            float[] p = random(rnd, n, -1, 1), gr = random(rnd, n, -1, 1), m = random(rnd, n, -0.1, 0.1);
            ps[t] = r.upload(p);
            gs[t] = r.upload(gr);
            ms[t] = r.upload(m);
            ns[t] = n;
            ps1[t] = r.upload(p);
            gs1[t] = r.upload(gr);
            ms1[t] = r.upload(m);
        }
        long partial = r.zeros(4L * g.x() * k), partial1 = r.zeros(4L * g.x() * k);
        r.launch("tandem_sumsq_multi", Dim3.of(g.x(), k), Dim3.of(r.blockSize()), args(r).pointer(r.upload(gs))
                .pointer(r.upload(ns)).pointer(partial));
        for (int t = 0; t < k; t++) {
            r.launch("tandem_sumsq_partial", g, Dim3.of(r.blockSize()), args(r).pointer(gs1[t])
                    .pointer(partial1 + 4L * g.x() * t).i64(sizes[t]));
        }
        Outcome o = Outcome.compare("sums of squares' partials", r.floats(partial, g.x() * k),
                widened(r.floats(partial1, g.x() * k)), 0, 0);
        r.launch("tandem_sgd_step_multi", Dim3.of(g.x(), k), Dim3.of(r.blockSize()), args(r).pointer(r.upload(ps))
                .pointer(r.upload(gs)).pointer(r.upload(ms)).pointer(r.upload(ns)).pointer(r.upload(decay))
                .pointer(hp).i32(1));
        for (int t = 0; t < k; t++) {
            r.launch("tandem_sgd_step", grid(r, sizes[t]), Dim3.of(r.blockSize()), args(r).pointer(ps1[t])
                    .pointer(gs1[t]).pointer(ms1[t]).i64(sizes[t]).pointer(hp).f32(decay[t]).i32(1));
        }
        for (int t = 0; t < k; t++) {
            o = o.and(Outcome.compare("p of tensor " + t, r.floats(ps[t], sizes[t]),
                    widened(r.floats(ps1[t], sizes[t])), 0, 0))
                    .and(Outcome.compare("m of tensor " + t, r.floats(ms[t], sizes[t]),
                            widened(r.floats(ms1[t], sizes[t])), 0, 0));
        }
        return o;
    }

    private static double[] widened(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static Outcome adam(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(12);
        int n = 777;
        long step = 3;
        float[] p = random(rnd, n, -1, 1), g = random(rnd, n, -1, 1), m = random(rnd, n, -0.1, 0.1),
                v = random(rnd, n, 0, 0.01);
        // Hyperparameters are float32 (as the ONNX attributes of Tandem's AdamStep): the reference uses the same values.
        double b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f, lr = 1e-3f;
        double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
        long hp = r.upload(new float[] {1e-3f, (float) c1, (float) c2, 1f});
        Outcome o = null;
        for (int decoupled = 0; decoupled <= 1; decoupled++) {
            long dp = r.upload(p), dg = r.upload(g), dm = r.upload(m), dv = r.upload(v);
            r.launch("tandem_adam_step", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dp).pointer(dg)
                    .pointer(dm).pointer(dv).i64(n).pointer(hp).f32(0.9f).f32(0.999f).f32(1e-8f).f32(0.01f)
                    .i32(decoupled));
            double[][] ref = KernelReference.adam(p, g, m, v, lr, step, b1, b2, eps, wd, decoupled == 1, 1);
            String w = decoupled == 1 ? "AdamW " : "Adam ";
            Outcome one = Outcome.compare(w + "p", r.floats(dp, n), ref[0], 1e-6, 1e-5)
                    .and(Outcome.compare(w + "m", r.floats(dm, n), ref[1], 1e-7, 1e-5))
                    .and(Outcome.compare(w + "v", r.floats(dv, n), ref[2], 1e-9, 1e-5));
            o = o == null ? one : o.and(one);
        }
        return o;
    }

    private static Outcome casts(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(13);
        int n = 1000;
        float[] x = random(rnd, n, -100, 100);
        // Halfway cases (round to even both ways), signed zeros, infinities, NaN, the largest float, a subnormal.
        float[] special = {Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000), -0f, 0f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MAX_VALUE, 1e-40f,
            Float.intBitsToFloat(0x3f80ffff)};
        System.arraycopy(special, 0, x, 0, special.length);
        long dx = r.upload(x), bf = r.zeros(2L * n), back = r.zeros(4L * n);
        r.launch("tandem_f32_to_bf16", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(bf).i64(n));
        short[] got = r.shorts(bf, n);
        long[] gotBits = new long[n], wantBits = new long[n];
        double[] wantBack = new double[n];
        for (int i = 0; i < n; i++) {
            gotBits[i] = got[i] & 0xffff;
            short w = KernelReference.toBf16(x[i]);
            wantBits[i] = w & 0xffff;
            wantBack[i] = KernelReference.fromBf16(w);
        }
        Outcome o = Outcome.exact("bf16 bits", gotBits, wantBits);
        r.launch("tandem_bf16_to_f32", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(bf).pointer(back).i64(n));
        float[] b = r.floats(back, n);
        long[] backBits = new long[n], wantBackBits = new long[n];
        for (int i = 0; i < n; i++) {
            backBits[i] = Float.floatToRawIntBits(b[i]);
            wantBackBits[i] = Float.floatToRawIntBits((float) wantBack[i]);
        }
        return o.and(Outcome.exact("bf16 -> f32 bits", backBits, wantBackBits));
    }

    private static long[] longs(KernelRunner r, long address, int count) {
        int[] w = r.ints(address, 2 * count);
        long[] v = new long[count];
        for (int i = 0; i < count; i++) {
            v[i] = (w[2 * i] & 0xFFFFFFFFL) | ((long) w[2 * i + 1] << 32);
        }
        return v;
    }

    private static Outcome dropout(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(21);
        int n = 3001;
        float[] x = random(rnd, n, -1, 1);
        double ratio = 0.25;
        long seed = 0x1234_5678_9ABCL;
        long dx = r.upload(x), ds = r.upload(new long[] {seed}), y = r.zeros(4L * n), m = r.zeros(4L * n);
        r.launch("tandem_dropout", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(ds).pointer(y)
                .pointer(m).i64(n).i64((long) Math.ceil(ratio * 0x1.0p53)).i64(Double.doubleToRawLongBits(
                        1 / (1 - ratio))));
        double[][] ref = KernelReference.dropout(x, seed, ratio);
        return Outcome.compare("y", r.floats(y, n), ref[0], 0, 0).and(Outcome.compare("mask", r.floats(m, n), ref[1],
                0, 0));
    }

    private static Outcome crossEntropyGrad(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(22);
        int rows = 13, classes = 7;
        float[] lp = random(rnd, rows * classes, -4, 0);
        long[] labels = new long[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = rnd.nextInt(classes);
        }
        long dd = r.upload(new float[] {1.5f}), dl = r.upload(lp), dlab = r.upload(labels),
                dx = r.zeros(4L * rows * classes);
        r.launch("tandem_xent_grad", grid(r, (long) rows * classes), Dim3.of(r.blockSize()), args(r).pointer(dd)
                .pointer(dl).pointer(dlab).pointer(dx).i32(rows).i32(classes).f32(0.1f).f32(rows));
        return Outcome.compare("dlogits", r.floats(dx, rows * classes), KernelReference.crossEntropyGrad(1.5, lp,
                labels, rows, classes, 0.1f, rows), 1e-7, RTOL);
    }

    private static Outcome batchNormInfer(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(23);
        int n = 2, ch = 5, plane = 37;
        float[] x = random(rnd, n * ch * plane, -2, 3), g = random(rnd, ch, 0.5, 1.5), b = random(rnd, ch, -1, 1),
                mean = random(rnd, ch, -1, 1), var = random(rnd, ch, 0.5, 2);
        long dx = r.upload(x), y = r.zeros(4L * x.length);
        r.launch("tandem_bn_infer", grid(r, x.length), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(y)
                .pointer(r.upload(g)).pointer(r.upload(b)).pointer(r.upload(mean)).pointer(r.upload(var)).i32(ch)
                .i64(plane).i64(x.length).f32(1e-5f));
        return Outcome.compare("y", r.floats(y, x.length), KernelReference.batchNormInfer(x, g, b, mean, var, ch, plane,
                1e-5f), 1e-6, RTOL);
    }

    private static Outcome topOne(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(24);
        int rows = 29, cols = 10;
        float[] z = random(rnd, rows * cols, -1, 1);
        z[3 * cols + 4] = z[3 * cols + 7] = 5f; // a tie: the first maximum wins
        long[] labels = new long[rows], want = new long[rows];
        long correct = 0;
        for (int i = 0; i < rows; i++) {
            int best = 0;
            for (int c = 1; c < cols; c++) {
                if (z[i * cols + c] > z[i * cols + best]) {
                    best = c;
                }
            }
            want[i] = best;
            labels[i] = rnd.nextBoolean() ? best : rnd.nextInt(cols);
            correct += labels[i] == best ? 1 : 0;
        }
        long dz = r.upload(z), am = r.zeros(8L * rows), dl = r.upload(labels), eq = r.zeros(rows), cnt = r.zeros(8L * rows),
                sum = r.zeros(8);
        r.launch("tandem_argmax_rows", grid(r, rows), Dim3.of(r.blockSize()), args(r).pointer(dz).pointer(am).i32(rows)
                .i32(cols));
        r.launch("tandem_equal_i64", grid(r, rows), Dim3.of(r.blockSize()), args(r).pointer(am).pointer(dl).pointer(eq)
                .i64(rows));
        r.launch("tandem_bool_to_i64", grid(r, rows), Dim3.of(r.blockSize()), args(r).pointer(eq).pointer(cnt)
                .i64(rows));
        r.launch("tandem_sum_i64", Dim3.of(1), Dim3.of(1), args(r).pointer(cnt).pointer(sum).i64(rows));
        return Outcome.exact("argmax", longs(r, am, rows), want).and(Outcome.exact("correct", longs(r, sum, 1),
                new long[] {correct}));
    }

    private static Outcome sgdHyper(KernelRunner r) {
        long sumsq = r.upload(new float[] {16f}), lr = r.upload(new float[] {0.05f}), mom = r.upload(new float[] {0.8f}),
                hp = r.zeros(16), norm = r.zeros(4);
        r.launch("tandem_sgd_hyper", Dim3.of(1), Dim3.of(1), args(r).pointer(sumsq).pointer(lr).pointer(mom)
                .pointer(hp).pointer(norm).f32(0.9f).i32(1).f32(2f));
        Outcome o = Outcome.compare("hp (momentum input, clipped)", r.floats(hp, 3), new double[] {0.05f, 0.8f,
                2 / (4 + 1e-6)}, 0, 1e-6).and(Outcome.compare("norm", r.floats(norm, 1), new double[] {4}, 0, 0));
        r.launch("tandem_sgd_hyper", Dim3.of(1), Dim3.of(1), args(r).pointer(sumsq).pointer(lr).pointer(mom)
                .pointer(hp).pointer(norm).f32(0.9f).i32(0).f32(0f));
        o = o.and(Outcome.compare("hp (momentum attribute, no clipping)", r.floats(hp, 3), new double[] {0.05f, 0.9f,
                1}, 0, 1e-6));
        long inf = r.upload(new float[] {Float.POSITIVE_INFINITY});
        r.launch("tandem_sgd_hyper", Dim3.of(1), Dim3.of(1), args(r).pointer(inf).pointer(lr).pointer(mom)
                .pointer(hp).pointer(norm).f32(0.9f).i32(0).f32(0f));
        float scale = r.floats(hp, 3)[2];
        // A non-finite norm marks the step as skipped (NaN scale): tandem_sgd_step then leaves p and m alone.
        float[] p = {1f, 2f}, g = {0.5f, -0.5f}, m = {0.1f, 0.2f};
        long dp = r.upload(p), dg = r.upload(g), dm = r.upload(m);
        r.launch("tandem_sgd_step", grid(r, 2), Dim3.of(r.blockSize()), args(r).pointer(dp).pointer(dg).pointer(dm)
                .i64(2).pointer(hp).f32(0f).i32(1));
        return o.and(new Outcome(Float.isNaN(scale) ? 0 : Double.POSITIVE_INFINITY, "non-finite norm gives scale "
                + scale)).and(Outcome.compare("p after a skipped step", r.floats(dp, 2), new double[] {1, 2}, 0, 0))
                .and(Outcome.compare("m after a skipped step", r.floats(dm, 2), new double[] {0.1f, 0.2f}, 0, 0));
    }

    private static Outcome clip(KernelRunner r) {
        SplittableRandom rnd = new SplittableRandom(25);
        int n = 1003;
        float[] x = random(rnd, n, -3, 9), dy = random(rnd, n, -1, 1);
        x[0] = 0f;
        x[1] = 6f; // on the bounds: the gradient is 0 there
        double[] y = new double[n], dx = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = Math.min(Math.max(x[i], 0), 6);
            dx[i] = x[i] > 0 && x[i] < 6 ? dy[i] : 0;
        }
        long dxp = r.upload(x), ddy = r.upload(dy), out = r.zeros(4L * n), grad = r.zeros(4L * n);
        r.launch("tandem_clip", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(dxp).pointer(out).i64(n).f32(0f)
                .f32(6f));
        r.launch("tandem_clip_grad", grid(r, n), Dim3.of(r.blockSize()), args(r).pointer(ddy).pointer(dxp)
                .pointer(grad).i64(n).f32(0f).f32(6f));
        return Outcome.compare("y", r.floats(out, n), y, 0, 0).and(Outcome.compare("dx", r.floats(grad, n), dx, 0, 0));
    }

    private static Outcome batchNormSplit(KernelRunner r, double center, double spread) {
        return batchNormSplit(r, center, spread, false);
    }

    /**
     * {@code saturated}: every channel's values just under 6 (a ReLU6 near saturation) but for about one in a
     * thousand at 0, among them the channel's first value, which the statistics pivot on: the worst case for a
     * one-pass variance.
     */
    private static Outcome batchNormSplit(KernelRunner r, double center, double spread, boolean saturated) {
        SplittableRandom rnd = new SplittableRandom(26);
        int n = 16, ch = 5, plane = 150, splits = 3;
        int count = n * ch * plane;
        float[] x = random(rnd, count, center - 2 * spread, center + 3 * spread), gamma = random(rnd, ch, 0.5, 1.5), beta = random(rnd, ch, -1, 1),
                rm = random(rnd, ch, -0.1, 0.1), rv = random(rnd, ch, 0.9, 1.1), dy = random(rnd, count, -1, 1);
        if (saturated) {
            for (int i = 0; i < count; i++) {
                x[i] = rnd.nextInt(1000) == 0 || i < ch * plane && i % plane == 0 ? 0f
                        : 6f - 0.01f * (float) rnd.nextDouble();
            }
        }
        double[][] ref = KernelReference.batchNormTrain(x, gamma, beta, rm, rv, n, ch, plane, 1e-5f, 0.1f);
        long dx = r.upload(x), dg = r.upload(gamma), db = r.upload(beta), drm = r.upload(rm), drv = r.upload(rv),
                y = r.zeros(4L * count), mean = r.zeros(4L * ch), inv = r.zeros(4L * ch),
                partial = r.zeros(16L * ch * splits), low = r.zeros(4L * ch);
        Dim3 g2 = new Dim3(ch, splits, 1);
        r.launch("tandem_bn_stats_partial", g2, Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(partial).i32(n)
                .i32(ch).i32(plane).i32(splits));
        r.launch("tandem_bn_stats_final", Dim3.of(ch), Dim3.of(32), args(r).pointer(partial).pointer(dx).pointer(mean)
                .pointer(low).pointer(inv).pointer(drm).pointer(drv).i32(ch).i32(splits).i32(plane)
                .i64((long) n * plane).f32(1e-5f).f32(0.1f));
        r.launch("tandem_bn_apply", grid(r, count), Dim3.of(r.blockSize()), args(r).pointer(dx).pointer(y).pointer(dg)
                .pointer(db).pointer(mean).pointer(low).pointer(inv).i32(ch).i32(plane).i64(count));
        // The saturated case checks the statistics to the CPU's two-pass accuracy (float sums lost up to 7e-5).
        double stat = saturated ? 2e-6 : RTOL, statAbs = saturated ? 0 : 1e-5;
        Outcome o = Outcome.compare("y", r.floats(y, count), ref[0], 1e-5, RTOL)
                .and(Outcome.compare("saved_mean", r.floats(mean, ch), ref[1], statAbs, stat))
                .and(Outcome.compare("saved_invstd", r.floats(inv, ch), ref[2], statAbs, stat))
                .and(Outcome.compare("running_mean", r.floats(drm, ch), ref[3], 1e-5, RTOL))
                .and(Outcome.compare("running_var", r.floats(drv, ch), ref[4], statAbs, stat));
        float[] sm = r.floats(mean, ch), si = r.floats(inv, ch);
        double[][] gref = KernelReference.batchNormGrad(dy, x, gamma, sm, si, n, ch, plane);
        long ddy = r.upload(dy), dxo = r.zeros(4L * count), dgam = r.zeros(4L * ch), dbet = r.zeros(4L * ch);
        r.launch("tandem_bn_bwd_partial", g2, Dim3.of(r.blockSize()), args(r).pointer(ddy).pointer(dx).pointer(mean)
                .pointer(inv).pointer(partial).i32(n).i32(ch).i64(plane).i32(splits));
        r.launch("tandem_bn_bwd_sums", Dim3.of(ch), Dim3.of(32), args(r).pointer(partial).pointer(dgam).pointer(dbet)
                .i32(ch).i32(splits));
        r.launch("tandem_bn_bwd_apply", grid(r, count), Dim3.of(r.blockSize()), args(r).pointer(ddy).pointer(dx)
                .pointer(dg).pointer(mean).pointer(inv).pointer(dgam).pointer(dbet).pointer(dxo).i32(ch).i32(plane)
                .i64(count).i64((long) n * plane));
        return o.and(Outcome.compare("dx", r.floats(dxo, count), gref[0], 1e-4, RTOL))
                .and(Outcome.compare("dgamma", r.floats(dgam, ch), gref[1], 1e-4, RTOL))
                .and(Outcome.compare("dbeta", r.floats(dbet, ch), gref[2], 1e-4, RTOL));
    }

    private static Outcome adamHyper(KernelRunner r) {
        long sumsq = r.upload(new float[] {9f}), lr = r.upload(new float[] {0.01f}), step = r.upload(new long[] {3}),
                hp = r.zeros(16), norm = r.zeros(4);
        r.launch("tandem_adam_hyper", Dim3.of(1), Dim3.of(1), args(r).pointer(sumsq).pointer(lr).pointer(step)
                .pointer(hp).pointer(norm).f32(0.9f).f32(0.999f).f32(1f));
        return Outcome.compare("hp", r.floats(hp, 4), new double[] {0.01f, 1 - Math.pow(0.9f, 3),
                1 - Math.pow(0.999f, 3), 1 / (3 + 1e-6)}, 0, 1e-6)
                .and(Outcome.compare("norm", r.floats(norm, 1), new double[] {3}, 0, 0));
    }
}
