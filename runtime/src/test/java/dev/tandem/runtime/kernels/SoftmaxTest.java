package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.reference.ReferenceSoftmax;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class SoftmaxTest extends PooledKernelTest {



    private static float[] run(ThreadPool tp, boolean log, Shape s, float[] x, int axis) {
        try (Tensor in = Tensor.ofFloats(s, x); Tensor out = KernelTestSupport.zeros(s)) {
            if (log) {
                Softmax.logSoftmax(tp, in, out, axis);
            } else {
                Softmax.softmax(tp, in, out, axis);
            }
            return out.toFloatArray();
        }
    }

    private static double[] reference(boolean log, Shape s, float[] x, int axis) {
        int ax = s.normalizeAxis(axis);
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) {
            outer *= s.dim(i);
        }
        for (int i = ax + 1; i < s.rank(); i++) {
            inner *= s.dim(i);
        }
        return ReferenceSoftmax.softmax(x, outer, s.dim(ax), inner, log);
    }

    @Test
    void matchesReferenceAlongEveryAxis() {
        Random rnd = new Random(31);
        int[][] shapes = {{1}, {7}, {97}, {3, 13}, {13, 3}, {64, 31}, {2, 97, 5}, {2, 3, 31, 7}, {1, 1000},
                {5, 1, 64}, {3, 17, 1}, {31, 64, 13}};
        for (int[] dims : shapes) {
            Shape s = Shape.of(dims);
            float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), -10, 10);
            for (int axis = -1; axis < dims.length; axis++) {
                for (boolean log : new boolean[]{false, true}) {
                    String what = (log ? "log-softmax " : "softmax ") + s + " axis " + axis;
                    // softmax: a few roundings of values <= 1; log-softmax: of values up to ~30
                    assertClose(what, run(pool, log, s, x, axis), reference(log, s, x, axis), log ? 4e-6 : 1e-7,
                            log ? 1e-6 : 2e-6);
                }
            }
        }
    }

    @Test
    void isStableForLargeInputsAndParallelRunsMatchOneThread() {
        Random rnd = new Random(32);
        Shape s = Shape.of(13, 97, 31);
        float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), 1000, 1010);
        for (int axis : new int[]{0, 1, 2}) {
            for (boolean log : new boolean[]{false, true}) {
                float[] got = run(pool, log, s, x, axis);
                // Not bit-equal: a call still running the Vector API's Java fallback (Math.exp per lane) and one
                // compiled by C2 (the platform's vector exp, within 1 ulp) may differ in the last bit, and the
                // pool's threads reach C2 at other moments than the caller does.
                assertClose("threads vs one " + axis, got, KernelTestSupport.toDouble(run(single, log, s, x, axis)),
                        0, 4e-7);
                assertClose("stable " + axis, got, reference(log, s, x, axis), log ? 1e-5 : 1e-7, 2e-6);
            }
        }
    }

    @Test
    void handlesInfinitiesLikePyTorch() {
        float ninf = Float.NEGATIVE_INFINITY;
        // 18 slices of 11 (three kinds, repeated): some -inf, all -inf, one +inf. Along axis 1 each slice is a
        // row (vector body and scalar tail); along axis 0 of the transpose the slices are columns (vector blocks
        // and scalar leftovers at every width).
        int rows = 18, n = 11;
        float[] x = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                x[r * n + i] = switch (r % 3) {
                    case 0 -> i % 3 == 0 ? ninf : i;
                    case 1 -> ninf;
                    default -> i == 4 ? Float.POSITIVE_INFINITY : i;
                };
            }
        }
        for (boolean log : new boolean[]{false, true}) {
            for (int axis : new int[]{1, 0}) {
                Shape s = axis == 1 ? Shape.of(rows, n) : Shape.of(n, rows);
                float[] data = axis == 1 ? x : transpose(x, rows, n);
                float[] got = run(pool, log, s, data, axis);
                float[] byRow = axis == 1 ? got : transpose(got, n, rows);
                assertClose("infinities " + log + " " + axis, byRow, reference(log, Shape.of(rows, n), x, 1),
                        log ? 1e-5 : 1e-7, 2e-6);
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < n; i++) {
                        float v = byRow[r * n + i];
                        if (r % 3 == 0 && i % 3 == 0) {
                            assertThat(v).isEqualTo(log ? ninf : 0f);
                        } else if (r % 3 != 0) {
                            assertThat(v).as("slice " + r + " element " + i).isNaN();
                        }
                    }
                }
            }
        }
    }

    private static float[] transpose(float[] x, int rows, int cols) {
        float[] t = new float[x.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        return t;
    }

    @Test
    void runsInPlaceAndAcceptsEmptyTensors() {
        Random rnd = new Random(33);
        Shape s = Shape.of(7, 13, 5);
        float[] x = KernelTestSupport.uniform(rnd, (int) s.size(), -3, 3);
        for (int axis : new int[]{1, 2}) {
            try (Tensor t = Tensor.ofFloats(s, x)) {
                Softmax.softmax(pool, t, t, axis);
                assertClose("in place", t.toFloatArray(), reference(false, s, x, axis), 1e-7, 2e-6);
            }
            try (Tensor t = Tensor.ofFloats(s, x)) {
                Softmax.logSoftmax(pool, t, t, axis);
                assertClose("in place log", t.toFloatArray(), reference(true, s, x, axis), 4e-6, 1e-6);
            }
        }
        try (Tensor e = KernelTestSupport.zeros(Shape.of(3, 0, 4))) {
            Softmax.softmax(pool, e, e, 1);
            Softmax.logSoftmax(pool, e, e, 0);
        }
    }

    @Test
    void rejectsBadShapesAndTypes() {
        try (Tensor a = KernelTestSupport.zeros(Shape.of(2, 3)); Tensor wrong = KernelTestSupport.zeros(Shape.of(3, 2));
             Tensor ints = Tensor.allocate(DType.INT32, Shape.of(2, 3));
             Tensor scalar = KernelTestSupport.zeros(Shape.scalar())) {
            assertThatThrownBy(() -> Softmax.softmax(pool, a, wrong, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3]").hasMessageContaining("[3, 2]");
            assertThatThrownBy(() -> Softmax.logSoftmax(pool, ints, a, 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT32");
            assertThatThrownBy(() -> Softmax.softmax(pool, a, a, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3]").hasMessageContaining("Axis 2");
            assertThatThrownBy(() -> Softmax.softmax(pool, a.transpose(0, 1), wrong, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguous");
            assertThatThrownBy(() -> Softmax.softmax(pool, scalar, scalar, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank >= 1");
        }
    }
}
