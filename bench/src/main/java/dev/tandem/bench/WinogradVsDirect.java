package dev.tandem.bench;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.Winograd3x3;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;

/**
 * One 3×3 stride-1 convolution (bias, ReLU) computed directly ({@link Conv2d#forceDirect}) and by Winograd
 * ({@link Winograd3x3}), alternating call by call on the same pool, medians and their ratio, and the largest
 * difference between the two outputs.
 *
 * <p>Usage: {@code WinogradVsDirect THREADS ITERS N:C:K:HW ...} (default: the 3×3 stride-1 layers of ResNet-18 at
 * batch 1 and FashionNet's at batch 128).
 */
public final class WinogradVsDirect {
    private static final int TILE = Integer.getInteger("tile", 2);
    private static final long WARM_NANOS = Long.getLong("warmSeconds", 6) * 1_000_000_000L;

    private WinogradVsDirect() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        String[] shapes = args.length > 2 ? Arrays.copyOfRange(args, 2, args.length)
                : new String[] {"1:64:64:56", "1:128:128:28", "1:256:256:14", "1:512:512:7", "128:32:32:28",
                    "128:32:64:14", "128:64:64:14"};
        try (ThreadPool pool = new ThreadPool(threads)) {
            Sgemm gemm = new Sgemm(pool);
            for (String s : shapes) {
                String[] f = s.split(":");
                run(pool, gemm, Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                        Integer.parseInt(f[3]), iters);
            }
        }
    }

    private static void run(ThreadPool pool, Sgemm gemm, int n, int c, int k, int hw, int iters) {
        ConvParams p = ConvParams.square(3, 1, 1);
        Random r = new Random(1);
        float[] w = new float[k * c * 9];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * Math.sqrt(2.0 / (c * 9)));
        }
        float[] b = new float[k];
        for (int i = 0; i < k; i++) {
            b[i] = r.nextFloat() * 0.1f;
        }
        float[] x = new float[n * c * hw * hw];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat();
        }
        Conv2d direct;
        Winograd3x3 wino;
        try (Tensor wt = Tensor.ofFloats(Shape.of(k, c, 3, 3), w)) {
            direct = Conv2d.prepare(p, c, wt, b, Activation.RELU).forceDirect();
            wino = Winograd3x3.prepare(p, c, wt, b, Activation.RELU, TILE);
        }
        try (Tensor in = Tensor.ofFloats(Shape.of(n, c, hw, hw), x);
             Tensor o1 = Tensor.allocate(DType.FLOAT32, Shape.of(n, k, hw, hw));
             Tensor o2 = Tensor.allocate(DType.FLOAT32, Shape.of(n, k, hw, hw))) {
            long[] td = new long[iters], tw = new long[iters];
            // warm-up: until C2 has compiled both paths (seconds, not iterations: the kernels compile after ~4 s)
            long warmEnd = System.nanoTime() + WARM_NANOS;
            while (System.nanoTime() < warmEnd) {
                direct.forward(gemm, in, o1);
                wino.forward(pool, in.segment(), in.offset(), n, hw, hw, o2.segment(), o2.offset(), false);
            }
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                direct.forward(gemm, in, o1);
                long t1 = System.nanoTime();
                wino.forward(pool, in.segment(), in.offset(), n, hw, hw, o2.segment(), o2.offset(), false);
                long t2 = System.nanoTime();
                td[i] = t1 - t0;
                tw[i] = t2 - t1;
            }
            double maxDiff = 0, maxAbs = 0;
            for (long i = 0; i < o1.shape().size(); i++) {
                double a = o1.segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o1.offset() + i);
                double bb = o2.segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o2.offset() + i);
                maxDiff = Math.max(maxDiff, Math.abs(a - bb));
                maxAbs = Math.max(maxAbs, Math.abs(a));
            }
            Arrays.sort(td);
            Arrays.sort(tw);
            double md = td[iters / 2] / 1e3, mw = tw[iters / 2] / 1e3;
            System.out.printf("F(%dx%d) n=%d c=%d k=%d %dx%d threads=%d: direct %.1f us (min %.1f), winograd %.1f us"
                    + " (min %.1f), winograd/direct %.3f; max |diff| %.2e of max |y| %.2e%n", TILE, TILE, n, c, k, hw, hw,
                    pool.threads(), md, td[0] / 1e3, mw, tw[0] / 1e3, mw / md, maxDiff, maxAbs);
        }
    }
}
