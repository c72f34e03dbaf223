package dev.tandem.cli;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.Simd;
import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.PrintWriter;
import java.util.Random;

/**
 * A few seconds of the compute core: a ResNet-18 3×3 convolution (64→64 channels, 56×56) checked against the
 * scalar reference, then timed on all cores. Used by {@code tandem quickstart} until training arrives.
 */
final class KernelDemo {
    private KernelDemo() {
    }

    /** Runs the demo; returns false (after saying why) when the fast kernel disagrees with the reference. */
    static boolean run(PrintWriter out, int threads, double seconds) {
        int c = 64, hw = 56;
        ConvParams p = ConvParams.square(3, 1, 1);
        Random r = new Random(7);
        float[] w = new float[c * c * 9], x = new float[c * hw * hw], bias = new float[c];
        for (int i = 0; i < w.length; i++) {
            w[i] = (r.nextFloat() - 0.5f) * 0.1f;
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat();
        }
        for (int i = 0; i < c; i++) {
            bias[i] = r.nextFloat() - 0.5f;
        }
        out.printf("conv 3x3, %d->%d channels, %dx%d, bias + ReLU fused; %d-bit vectors, %d thread(s)%n", c, c, hw,
                hw, Simd.bits(), threads);
        try (ThreadPool pool = new ThreadPool(threads);
             Tensor wt = Tensor.ofFloats(Shape.of(c, c, 3, 3), w);
             Tensor in = Tensor.ofFloats(Shape.of(1, c, hw, hw), x);
             Tensor y = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, hw, hw))) {
            Sgemm gemm = new Sgemm(pool);
            Conv2d conv = Conv2d.prepare(p, c, wt, bias, Activation.RELU);
            conv.forward(gemm, in, y);
            double[] want = ReferenceConv.conv2d(x, 1, c, hw, hw, w, c, bias, p, Activation.RELU);
            float[] got = y.toFloatArray();
            double maxErr = 0;
            for (int i = 0; i < got.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
            }
            out.printf("  matches the scalar float64 reference: max abs error %.2e over %d outputs%n", maxErr,
                    got.length);
            if (maxErr > 1e-3) {
                out.println("  MISMATCH: the fast convolution disagrees with the reference; please report this");
                return false;
            }
            double flops = 2.0 * c * c * 9 * hw * hw;
            long end = System.nanoTime() + (long) (seconds * 1e9);
            double best = Double.MAX_VALUE;
            int runs = 0;
            while (runs == 0 || System.nanoTime() < end) {
                long t = System.nanoTime();
                conv.forward(gemm, in, y);
                best = Math.min(best, System.nanoTime() - t);
                runs++;
            }
            out.printf("  best of %d runs: %.3f ms, %.1f GFLOP/s%n", runs, best / 1e6, flops / best);
            out.println("  kernel benchmarks against the machine's FMA peak: see README.md, Benchmarks");
            return true;
        }
    }
}
