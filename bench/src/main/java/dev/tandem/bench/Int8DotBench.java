package dev.tandem.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Which 8-bit dot product the Vector API computes fastest: one register-blocked 6 × 32 micro-kernel (12
 * accumulators of 16 lanes, A broadcast per row, B packed, K = 256 resident in L1) written four ways, in
 * multiply-adds per ns (= GMAC/s; ×2 for GOP/s):
 * <ul>
 *   <li>{@code floatFma}: float32 FMA on integer-valued floats (Tandem's int8 path, exact while sums < 2²⁴);</li>
 *   <li>{@code int32MulAdd}: operands pre-widened to int32, {@code mul} + {@code add} (vpmulld + vpaddd);</li>
 *   <li>{@code int16MulWiden}: int16 products (vpmullw, exact for 8-bit operands) widened to two int32 halves;</li>
 *   <li>{@code bytesToFloatFma}: B kept as bytes and converted to float per load, then FMA.</li>
 * </ul>
 * The Vector API has no widening multiply-add (vpmaddubsw / VNNI vpdpbusd), which is what makes int8 faster than
 * float in native code. 512-bit species; needs an AVX-512 CPU to mean anything.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class Int8DotBench {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final VectorSpecies<Short> SS = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> BS = ByteVector.SPECIES_128;
    static final int K = 256;
    static final int MACS = 6 * 32 * K;

    float[] fa = new float[K * 6], fb = new float[K * 32];
    int[] ia = new int[K * 6], ib = new int[K * 32];
    short[] sa = new short[K * 6], sb = new short[K * 32];
    byte[] bb = new byte[K * 32];

    @Setup
    public void setup() {
        Random r = new Random(1);
        for (int i = 0; i < fa.length; i++) {
            ia[i] = r.nextInt(255) - 127;
            fa[i] = ia[i];
            sa[i] = (short) ia[i];
        }
        for (int i = 0; i < fb.length; i++) {
            ib[i] = r.nextInt(255) - 127;
            fb[i] = ib[i];
            sb[i] = (short) ib[i];
            bb[i] = (byte) ib[i];
        }
    }

    @Benchmark
    @OperationsPerInvocation(MACS)
    public float floatFma() {
        float[] a = fa, b = fb;
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < K; k++) {
            FloatVector b0 = FloatVector.fromArray(FS, b, k * 32), b1 = FloatVector.fromArray(FS, b, k * 32 + 16);
            FloatVector x = FloatVector.broadcast(FS, a[k * 6]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(FS, a[k * 6 + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(FS, a[k * 6 + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(FS, a[k * 6 + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(FS, a[k * 6 + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(FS, a[k * 6 + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        return c00.add(c01).add(c10).add(c11).add(c20).add(c21).add(c30).add(c31).add(c40).add(c41).add(c50)
                .add(c51).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    @OperationsPerInvocation(MACS)
    public int int32MulAdd() {
        int[] a = ia, b = ib;
        IntVector c00 = IntVector.zero(IS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        IntVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < K; k++) {
            IntVector b0 = IntVector.fromArray(IS, b, k * 32), b1 = IntVector.fromArray(IS, b, k * 32 + 16);
            IntVector x = IntVector.broadcast(IS, a[k * 6]);
            c00 = c00.add(x.mul(b0));
            c01 = c01.add(x.mul(b1));
            x = IntVector.broadcast(IS, a[k * 6 + 1]);
            c10 = c10.add(x.mul(b0));
            c11 = c11.add(x.mul(b1));
            x = IntVector.broadcast(IS, a[k * 6 + 2]);
            c20 = c20.add(x.mul(b0));
            c21 = c21.add(x.mul(b1));
            x = IntVector.broadcast(IS, a[k * 6 + 3]);
            c30 = c30.add(x.mul(b0));
            c31 = c31.add(x.mul(b1));
            x = IntVector.broadcast(IS, a[k * 6 + 4]);
            c40 = c40.add(x.mul(b0));
            c41 = c41.add(x.mul(b1));
            x = IntVector.broadcast(IS, a[k * 6 + 5]);
            c50 = c50.add(x.mul(b0));
            c51 = c51.add(x.mul(b1));
        }
        return c00.add(c01).add(c10).add(c11).add(c20).add(c21).add(c30).add(c31).add(c40).add(c41).add(c50)
                .add(c51).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    @OperationsPerInvocation(MACS)
    public int int16MulWiden() {
        short[] a = sa, b = sb;
        IntVector c00 = IntVector.zero(IS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        IntVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < K; k++) {
            ShortVector b0 = ShortVector.fromArray(SS, b, k * 32);
            ShortVector p = b0.mul(a[k * 6]);
            c00 = c00.add(p.convert(VectorOperators.S2I, 0));
            c01 = c01.add(p.convert(VectorOperators.S2I, 1));
            p = b0.mul(a[k * 6 + 1]);
            c10 = c10.add(p.convert(VectorOperators.S2I, 0));
            c11 = c11.add(p.convert(VectorOperators.S2I, 1));
            p = b0.mul(a[k * 6 + 2]);
            c20 = c20.add(p.convert(VectorOperators.S2I, 0));
            c21 = c21.add(p.convert(VectorOperators.S2I, 1));
            p = b0.mul(a[k * 6 + 3]);
            c30 = c30.add(p.convert(VectorOperators.S2I, 0));
            c31 = c31.add(p.convert(VectorOperators.S2I, 1));
            p = b0.mul(a[k * 6 + 4]);
            c40 = c40.add(p.convert(VectorOperators.S2I, 0));
            c41 = c41.add(p.convert(VectorOperators.S2I, 1));
            p = b0.mul(a[k * 6 + 5]);
            c50 = c50.add(p.convert(VectorOperators.S2I, 0));
            c51 = c51.add(p.convert(VectorOperators.S2I, 1));
        }
        return c00.add(c01).add(c10).add(c11).add(c20).add(c21).add(c30).add(c31).add(c40).add(c41).add(c50)
                .add(c51).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    @OperationsPerInvocation(MACS)
    public float bytesToFloatFma() {
        float[] a = fa;
        byte[] b = bb;
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int k = 0; k < K; k++) {
            FloatVector b0 = (FloatVector) ByteVector.fromArray(BS, b, k * 32).convertShape(VectorOperators.B2F, FS, 0);
            FloatVector b1 = (FloatVector) ByteVector.fromArray(BS, b, k * 32 + 16)
                    .convertShape(VectorOperators.B2F, FS, 0);
            FloatVector x = FloatVector.broadcast(FS, a[k * 6]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(FS, a[k * 6 + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(FS, a[k * 6 + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(FS, a[k * 6 + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(FS, a[k * 6 + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(FS, a[k * 6 + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        return c00.add(c01).add(c10).add(c11).add(c20).add(c21).add(c30).add(c31).add(c40).add(c41).add(c50)
                .add(c51).reduceLanes(VectorOperators.ADD);
    }
}
