package dev.tandem.cuda.dnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.CudaException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class AlgoPerfTest {
    @Test
    void layoutIsTheCStructsOn64BitLinux() {
        // {int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3];}
        assertThat(AlgoPerf.LAYOUT.byteSize()).isEqualTo(48);
        assertThat(AlgoPerf.LAYOUT.byteAlignment()).isEqualTo(8);
        assertThat(AlgoPerf.LAYOUT.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("memory")))
                .isEqualTo(16);
        assertThat(AlgoPerf.LAYOUT.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("mathType")))
                .isEqualTo(28);
    }

    @Test
    void readsAnArrayAsCudnnWritesIt() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(AlgoPerf.LAYOUT, 2);
            m.set(ValueLayout.JAVA_INT, 48, 6);                 // second entry: algo
            m.set(ValueLayout.JAVA_FLOAT, 48 + 8, -1f);         // time
            m.set(ValueLayout.JAVA_LONG, 48 + 16, 1L << 33);    // memory
            m.set(ValueLayout.JAVA_INT, 48 + 24, 1);            // determinism: CUDNN_DETERMINISTIC
            m.set(ValueLayout.JAVA_INT, 48 + 28, 3);            // mathType
            AlgoPerf[] p = AlgoPerf.read(m, 2);
            assertThat(p[1]).isEqualTo(new AlgoPerf(6, 0, -1f, 1L << 33, true, 3));
            assertThat(p[0]).isEqualTo(new AlgoPerf(0, 0, 0f, 0, false, 0));
        }
    }

    @Test
    void choosesTheFirstUsableAlgorithmThatFitsTheWorkspace() {
        AlgoPerf[] ranked = {new AlgoPerf(1, 3000, -1, 0, true, 0), new AlgoPerf(2, 0, -1, 1 << 30, true, 0),
            new AlgoPerf(3, 0, -1, 1024, false, 1), new AlgoPerf(4, 0, -1, 0, true, 0)};
        assertThat(AlgoPerf.choose(ranked, 1 << 20, false, "forward").algo()).isEqualTo(3);
        assertThat(AlgoPerf.choose(ranked, 1 << 20, true, "forward").algo()).isEqualTo(4);
        assertThat(AlgoPerf.choose(ranked, 1L << 31, false, "forward").algo()).isEqualTo(2);
        assertThatThrownBy(() -> AlgoPerf.choose(new AlgoPerf[] {ranked[0]}, 0, false, "forward"))
                .isInstanceOf(CudaException.class).hasMessageStartingWith("cuDNN offers no usable forward algorithm");
    }

    @Test
    void convShapesComputeOutputsAndRefuseNonsense() {
        ConvShape s = ConvShape.of(8, 32, 28, 28, 64, 3, 1, 2);
        assertThat(s.outH()).isEqualTo(14);
        assertThat(s.outputElements()).isEqualTo(8L * 64 * 14 * 14);
        assertThat(s.weightElements()).isEqualTo(64L * 32 * 9);
        assertThatThrownBy(() -> new ConvShape(1, 3, 4, 4, 4, 3, 3, 0, 0, 1, 1, 1, 1, 2))
                .hasMessageContaining("must divide into 2 groups");
        assertThatThrownBy(() -> ConvShape.of(1, 1, 2, 2, 1, 5, 0, 1)).hasMessageContaining("empty output");
    }
}
