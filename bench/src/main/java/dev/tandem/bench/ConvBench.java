package dev.tandem.bench;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Conv2d;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** One ResNet-18 convolution (batch 1, with bias and fused ReLU) through {@link Conv2d}. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ConvBench {
    @Param({"conv1_7x7s2", "l1_3x3_64", "l2_3x3s2_128", "l2_3x3_128", "l2_down_1x1s2", "l3_3x3s2_256",
        "l3_3x3_256", "l3_down_1x1s2", "l4_3x3s2_512", "l4_3x3_512", "l4_down_1x1s2"})
    public String layer;

    @Param({"1", "2"})
    public int threads;

    private ThreadPool pool;
    private Sgemm gemm;
    private Conv2d conv;
    private Tensor in;
    private Tensor out;

    @Setup(Level.Trial)
    public void setUp() {
        ResNet18Convs.Layer l = ResNet18Convs.byName(layer);
        pool = new ThreadPool(threads);
        gemm = new Sgemm(pool);
        Random r = new Random(1);
        float[] w = new float[l.cout() * l.cin() * l.kernel() * l.kernel()];
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextFloat() - 0.5f;
        }
        float[] x = new float[l.cin() * l.hw() * l.hw()];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat();
        }
        try (Tensor wt = Tensor.ofFloats(Shape.of(l.cout(), l.cin(), l.kernel(), l.kernel()), w)) {
            conv = Conv2d.prepare(l.params(), l.cin(), wt, new float[l.cout()], Activation.RELU);
        }
        in = Tensor.ofFloats(Shape.of(1, l.cin(), l.hw(), l.hw()), x);
        out = Tensor.allocate(DType.FLOAT32, Shape.of(1, l.cout(), l.outHw(), l.outHw()));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        in.close();
        out.close();
    }

    @Benchmark
    public Tensor conv() {
        conv.forward(gemm, in, out);
        return out;
    }
}
