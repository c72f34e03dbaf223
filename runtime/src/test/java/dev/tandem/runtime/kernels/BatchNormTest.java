package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.kernels.reference.ReferenceBatchNorm;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class BatchNormTest extends PooledKernelTest {
    private static final Activation[] ACTS = {Activation.NONE, Activation.RELU, Activation.RELU6,
            Activation.clip(-0.5f, 0.25f), Activation.SIGMOID, Activation.SILU, Activation.HARDSWISH};



    private record Params(float[] scale, float[] bias, float[] mean, float[] var) {
        static Params random(Random rnd, int c) {
            return new Params(KernelTestSupport.uniform(rnd, c, -2, 2), KernelTestSupport.uniform(rnd, c, -1, 1),
                    KernelTestSupport.uniform(rnd, c, -1, 1), KernelTestSupport.uniform(rnd, c, 0.01f, 3));
        }
    }

    @Test
    void matchesReferenceForRanks2To5AndEveryActivation() {
        Random rnd = new Random(11);
        int[][] shapes = {{5, 1}, {3, 7}, {2, 97}, {4, 64}, {2, 3, 13}, {1, 13, 31}, {2, 7, 1}, {1, 3, 7, 7},
                {2, 13, 31, 3}, {1, 64, 13, 13}, {1, 3, 97, 64}, {2, 3, 4, 5, 6}};
        for (int[] dims : shapes) {
            Shape s = Shape.of(dims);
            int n = dims[0], c = dims[1];
            int inner = (int) (s.size() / ((long) n * c));
            Params p = Params.random(rnd, c);
            float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), -4, 4);
            for (Activation act : ACTS) {
                BatchNorm bn = BatchNorm.prepare(p.scale, p.bias, p.mean, p.var, 1e-5f, act);
                try (Tensor in = Tensor.ofFloats(s, x); Tensor out = KernelTestSupport.zeros(s)) {
                    bn.forward(pool, in, out);
                    double[] want = ReferenceBatchNorm.batchNorm(x, n, c, inner, p.scale, p.bias, p.mean, p.var,
                            1e-5f, act);
                    // |a·x| can reach ~2/0.1·4 = 80: a few float roundings of that size
                    assertClose("batch norm " + s + " " + act, out.toFloatArray(), want, 4e-5, 2e-6);
                }
            }
        }
    }

    @Test
    void runsInPlace() {
        Random rnd = new Random(12);
        Shape s = Shape.of(2, 7, 13, 31);
        Params p = Params.random(rnd, 7);
        float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), -4, 4);
        BatchNorm bn = BatchNorm.prepare(p.scale, p.bias, p.mean, p.var, 1e-3f, Activation.RELU);
        try (Tensor t = Tensor.ofFloats(s, x);
             Tensor out = KernelTestSupport.zeros(s);
             Tensor src = Tensor.ofFloats(s, x)) {
            bn.forward(pool, src, out);
            bn.forward(pool, t, t);
            assertThat(t.toFloatArray()).isEqualTo(out.toFloatArray());
        }
    }

    @Test
    void foldsParametersInDouble() {
        BatchNorm bn = BatchNorm.prepare(new float[]{2, 1}, new float[]{1, 0}, new float[]{3, -1},
                new float[]{4 - 1e-5f, 0}, 1e-5f, Activation.NONE);
        assertThat(bn.channels()).isEqualTo(2);
        assertThat(bn.multipliers()[0]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(bn.offsets()[0]).isCloseTo(-2f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(bn.multipliers()[1]).isEqualTo((float) (1 / Math.sqrt(1e-5f)));
        try (Tensor s = Tensor.ofFloats(Shape.of(2), 2, 1); Tensor b = Tensor.ofFloats(Shape.of(2), 1, 0);
             Tensor m = Tensor.ofFloats(Shape.of(2), 3, -1); Tensor v = Tensor.ofFloats(Shape.of(2), 4 - 1e-5f, 0)) {
            BatchNorm fromTensors = BatchNorm.prepare(s, b, m, v, 1e-5f, Activation.NONE);
            assertThat(fromTensors.multipliers()).isEqualTo(bn.multipliers());
            assertThat(fromTensors.offsets()).isEqualTo(bn.offsets());
        }
    }

    @Test
    void propagatesNaNAndHandlesEmptyBatches() {
        BatchNorm bn = BatchNorm.prepare(new float[]{1, 1}, new float[]{0, 0}, new float[]{0, 0},
                new float[]{1, 1}, 0f, Activation.NONE);
        try (Tensor in = Tensor.ofFloats(Shape.of(1, 2, 2), Float.NaN, 1, Float.NEGATIVE_INFINITY, 2);
             Tensor out = KernelTestSupport.zeros(Shape.of(1, 2, 2))) {
            bn.forward(pool, in, out);
            assertThat(out.toFloatArray()).containsExactly(Float.NaN, 1, Float.NEGATIVE_INFINITY, 2);
        }
        try (Tensor in = KernelTestSupport.zeros(Shape.of(0, 2, 5));
             Tensor out = KernelTestSupport.zeros(Shape.of(0, 2, 5))) {
            bn.forward(pool, in, out);
        }
    }

    @Test
    void rejectsBadParametersAndTensors() {
        assertThatThrownBy(() -> BatchNorm.prepare(new float[2], new float[2], new float[3], new float[2], 1e-5f,
                Activation.NONE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2, 2, 3, 2");
        assertThatThrownBy(() -> BatchNorm.prepare(new float[1], new float[1], new float[1], new float[1], -1f,
                Activation.NONE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("epsilon");
        BatchNorm bn = BatchNorm.prepare(new float[3], new float[3], new float[3], new float[3], 1e-5f,
                Activation.NONE);
        try (Tensor in = KernelTestSupport.zeros(Shape.of(2, 3, 4));
             Tensor wrongC = KernelTestSupport.zeros(Shape.of(2, 4, 4));
             Tensor rank1 = KernelTestSupport.zeros(Shape.of(3));
             Tensor out = KernelTestSupport.zeros(Shape.of(2, 3, 5));
             Tensor ints = Tensor.allocate(DType.INT32, Shape.of(2, 3, 4));
             Tensor matrix = KernelTestSupport.zeros(Shape.of(3, 3))) {
            assertThatThrownBy(() -> bn.forward(pool, wrongC, wrongC)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[N, 3, ...]").hasMessageContaining("[2, 4, 4]");
            assertThatThrownBy(() -> bn.forward(pool, rank1, rank1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[3]");
            assertThatThrownBy(() -> bn.forward(pool, in, out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3, 4]").hasMessageContaining("[2, 3, 5]");
            assertThatThrownBy(() -> bn.forward(pool, ints, in)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("INT32");
            assertThatThrownBy(() -> bn.forward(pool, matrix.transpose(0, 1), matrix))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguous");
            assertThatThrownBy(() -> BatchNorm.prepare(matrix, matrix, matrix, matrix, 1e-5f, Activation.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[C]")
                    .hasMessageContaining("[3, 3]");
        }
    }
}
