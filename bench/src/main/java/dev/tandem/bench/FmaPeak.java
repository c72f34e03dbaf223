package dev.tandem.bench;

import dev.tandem.runtime.kernels.Simd;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The machine's float32 FMA peak as the Vector API reaches it: 12 independent FMA chains held in registers, no
 * memory traffic. Throughput in operations/ns is GFLOP/s per thread (JMH sums threads when run with -t N).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FmaPeak {
    private static final VectorSpecies<Float> S = Simd.FLOAT;
    static final int ITERS = 4096;
    /** FLOPs per call: iterations × 12 chains × lanes × 2 (multiply and add). */
    static final int FLOPS = ITERS * 12 * 2 * 16;

    float a = 0.5f;
    float b = 0.25f;

    @Benchmark
    @OperationsPerInvocation(FLOPS)
    public float fma() {
        // The chains converge (c = 0.5c + 0.25 → 0.5) so values stay normal; no denormal slow-downs.
        FloatVector va = FloatVector.broadcast(S, a), vb = FloatVector.broadcast(S, b);
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        int n = ITERS * 16 / S.length();
        for (int i = 0; i < n; i++) {
            c0 = c0.fma(va, vb);
            c1 = c1.fma(va, vb);
            c2 = c2.fma(va, vb);
            c3 = c3.fma(va, vb);
            c4 = c4.fma(va, vb);
            c5 = c5.fma(va, vb);
            c6 = c6.fma(va, vb);
            c7 = c7.fma(va, vb);
            c8 = c8.fma(va, vb);
            c9 = c9.fma(va, vb);
            c10 = c10.fma(va, vb);
            c11 = c11.fma(va, vb);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(VectorOperators.ADD);
    }
}
