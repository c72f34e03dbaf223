package dev.tandem.bench;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

/**
 * SGEMM C = A·B (row-major, no transposes, beta 0) for a shape given as "MxNxK", on a pool of {@code threads};
 * with {@code packedA} the left operand is packed once beforehand, as a layer's weights are.
 * Square sizes 64–2048 and the GEMM shapes of ResNet-18's convolutions at batch 1 (M = out channels,
 * N = output pixels, K = in channels × kernel area).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SgemmBench {
    @Param({"64x64x64", "128x128x128", "256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /** A packed once outside the timed call, as a layer's constant weights are (convolutions do this). */
    @Param({"false"})
    public boolean packedA;

    private ThreadPool pool;
    private Sgemm gemm;
    private Arena arena;
    private MemorySegment a;
    private MemorySegment b;
    private MemorySegment c;
    private Sgemm.PackedA packed;
    int m;
    int n;
    int k;

    static int[] parse(String shape) {
        String[] p = shape.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = parse(shape);
        m = s[0];
        n = s[1];
        k = s[2];
        pool = new ThreadPool(threads);
        gemm = new Sgemm(pool);
        arena = Arena.ofShared();
        a = fill(arena, (long) m * k, 1);
        b = fill(arena, (long) k * n, 2);
        c = arena.allocate(4L * m * n, 64);
        packed = Sgemm.packA(false, m, k, a, 0, k);
    }

    static MemorySegment fill(Arena arena, long count, long seed) {
        MemorySegment s = arena.allocate(4 * count, 64);
        Random r = new Random(seed);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, r.nextFloat() - 0.5f);
        }
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public MemorySegment sgemm() {
        if (packedA) {
            gemm.gemm(packed, false, n, 1f, b, 0, n, 0f, c, 0, n, null, Activation.NONE);
        } else {
            gemm.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        }
        return c;
    }
}
