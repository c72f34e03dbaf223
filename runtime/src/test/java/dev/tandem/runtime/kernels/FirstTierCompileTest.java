package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Every kernel method compiles in C1's profiling tier (tier 3), the JIT tier each hot method passes through on its
 * way to C2.
 *
 * <p>Why: the Vector API is compiled to vector instructions by C2 only; C1 calls it as ordinary Java and so needs a
 * virtual register for every temporary of every inlined vector operation. A large unrolled kernel can exceed C1's
 * limit ("COMPILE SKIPPED: out of virtual registers in LIR generator"). When C1's quick tier 2 had compiled such a
 * method first (the JIT does when C2's queue is long, as at start-up), the failed tier-3 compile left it in tier 2
 * for the rest of the process: a beta-1 GEMM kernel ran with every vector boxed, 70 times slower, in 2 of 3 runs
 * of a benchmark (docs/benchmarks.md, twelfth session). This test runs the kernels in a child JVM that compiles
 * each method of this package at its first call in tier 3 ({@code -Xcomp -XX:TieredStopAtLevel=3}) and fails on any
 * compile C1 gives up.
 */
class FirstTierCompileTest {

    @Test
    void everyKernelMethodCompilesInC1sProfilingTier() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xcomp", "-XX:TieredStopAtLevel=3", "-XX:+PrintCompilation", "-XX:CompileCommand=quiet",
                "-XX:CompileCommand=compileonly,dev.tandem.runtime.kernels.*::*",
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Workload.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).as("the workload ran to its end").contains(Workload.DONE);
        List<String> compiled = out.lines().filter(l -> l.contains("dev.tandem.runtime.kernels.")).toList();
        assertThat(compiled).as("C1 compiled the kernels").anyMatch(l -> l.contains("Sgemm::kernel6 "))
                .anyMatch(l -> l.contains("Depthwise3x3::row"))
                .anyMatch(l -> l.contains("DepthwiseFlat::runInto"))
                .anyMatch(l -> l.contains("DepthwiseFlat::runDirect"))
                .anyMatch(l -> l.contains("DepthwiseFlat::runStride2"))
                .anyMatch(l -> l.contains("DepthwiseFlat::run5 "))
                .anyMatch(l -> l.contains("DepthwiseFlat::run5Stride2"))
                .anyMatch(l -> l.contains("DepthwiseFlat::runPhases"))
                .anyMatch(l -> l.contains("DepthwiseFlat::splitPhases"));
        if (Sgemm.MR <= Simd.F) {
            // a panel's rows fit one vector: one-column products take the column kernel
            assertThat(compiled).anyMatch(l -> l.contains("Sgemm::columnPanel"));
        }
        if (Sgemm.MR == 12) {
            // 32 vector registers: the 12-row kernels, the in-place-B ones among them
            assertThat(compiled).anyMatch(l -> l.contains("Sgemm::kernel12StoreB"))
                    .anyMatch(l -> l.contains("Sgemm::kernel12Store "));
            if (Simd.F >= 12) {
                // narrow last column tiles (40 = 32 + 8 and 49 = 32 + 17 columns)
                assertThat(compiled).anyMatch(l -> l.contains("Sgemm::kernel12x16"))
                        .anyMatch(l -> l.contains("Sgemm::kernel12x17"));
            }
        }
        // a compile skipped for a passing reason (a class loaded meanwhile) is retried; any other is not
        assertThat(compiled.stream().filter(l -> l.contains("COMPILE SKIPPED"))
                .filter(l -> !l.contains("concurrent class loading")).toList()).isEmpty();
    }

    /** The child JVM's work: every kernel path of the warm-up, and the GEMM's in-place-B and packed paths. */
    public static final class Workload {
        static final String DONE = "workload done";

        public static void main(String[] args) {
            try (ThreadPool pool = new ThreadPool(2); Arena arena = Arena.ofShared()) {
                Sgemm gemm = new Sgemm(pool);
                KernelWarmup.ensure(gemm, 1);
                int wide = Sgemm.IN_PLACE_MIN_WIDTH + 32;
                // 12-, 8- and 12+8-row panels; B wide enough to be read in place, narrow (packed), one column, a
            // 7x7 output's 49
                int[][] shapes = {{12, 8, wide}, {8, 8, wide}, {20, 8, wide}, {12, 8, 40}, {8, 8, 40}, {6, 8, 40},
                    {26, 8, 1}, {24, 8, 49}};
                for (int[] s : shapes) {
                    int m = s[0], k = s[1], n = s[2];
                    MemorySegment a = arena.allocate(4L * m * k, 64), b = arena.allocate(4L * k * n, 64);
                    MemorySegment c = arena.allocate(4L * m * n, 64);
                    Sgemm.PackedA packed = Sgemm.packA(false, m, k, a, 0, k);
                    for (Activation act : List.of(Activation.NONE, Activation.RELU6, Activation.SILU)) {
                        for (float beta : new float[] {0f, 1f}) {
                            gemm.gemm(packed, false, n, 1f, b, 0, n, beta, c, 0, n, new float[m], act);
                        }
                    }
                }
            }
            System.out.println(DONE);
        }
    }
}
