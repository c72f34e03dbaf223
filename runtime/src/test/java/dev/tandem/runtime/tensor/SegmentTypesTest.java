package dev.tandem.runtime.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Simd;
import dev.tandem.runtime.kernels.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every memory segment class is loaded before the first kernel class, whichever of {@link Tensor} and the
 * kernels a program touches first, so that C2 never compiles a kernel on the assumption that one kind of segment
 * is the only one and later throws the compiled code away (see {@link SegmentTypes}).
 */
class SegmentTypesTest {
    private static final List<String> SEGMENT_CLASSES = List.of("HeapMemorySegmentImpl$OfByte",
            "HeapMemorySegmentImpl$OfShort", "HeapMemorySegmentImpl$OfChar", "HeapMemorySegmentImpl$OfInt",
            "HeapMemorySegmentImpl$OfLong", "HeapMemorySegmentImpl$OfFloat", "HeapMemorySegmentImpl$OfDouble",
            "NativeMemorySegmentImpl", "MappedMemorySegmentImpl");

    @ParameterizedTest
    @ValueSource(strings = {"tensor", "kernels"})
    void segmentClassesLoadBeforeTheFirstKernel(String first) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Workload.class.getName(), first);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        List<String> loaded = out.lines().filter(l -> l.contains("[class,load]")).toList();
        int firstKernel = indexOf(loaded, "dev.tandem.runtime.kernels.Sgemm ");
        assertThat(firstKernel).as("the workload loaded Sgemm").isPositive();
        for (String c : SEGMENT_CLASSES) {
            int at = indexOf(loaded, "jdk.internal.foreign." + c + " ");
            assertThat(at).as(c + " loaded before the first kernel").isBetween(0, firstKernel);
        }
    }

    private static int indexOf(List<String> lines, String cls) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(cls)) {
                return i;
            }
        }
        return -1;
    }

    /** The child JVM: touches tensors or the kernels first, then runs a small GEMM on native segments. */
    public static final class Workload {
        public static void main(String[] args) {
            if (args[0].equals("kernels")) {
                System.out.println("lanes " + Simd.F);
            } else {
                Tensor.allocate(DType.FLOAT32, Shape.of(2, 2)).close();
            }
            try (ThreadPool pool = new ThreadPool(1); Arena arena = Arena.ofConfined()) {
                MemorySegment a = arena.allocate(4 * 16), b = arena.allocate(4 * 16), c = arena.allocate(4 * 16);
                new Sgemm(pool).gemm(false, false, 4, 4, 4, 1f, a, 0, 4, b, 0, 4, 0f, c, 0, 4);
            }
        }
    }
}
