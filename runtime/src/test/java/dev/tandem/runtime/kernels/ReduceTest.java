package dev.tandem.runtime.kernels;

import static dev.tandem.runtime.kernels.KernelTestSupport.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.reference.ReferenceReduce;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("simd")
class ReduceTest extends PooledKernelTest {



    private static ReferenceReduce.Kind kind(Reduce.Op op) {
        return ReferenceReduce.Kind.valueOf(op.name());
    }

    private static boolean[] flags(Shape s, int[] axes) {
        boolean[] red = new boolean[s.rank()];
        if (axes.length == 0) {
            Arrays.fill(red, true);
        }
        for (int a : axes) {
            red[s.normalizeAxis(a)] = true;
        }
        return red;
    }

    private static float[] reduce(ThreadPool tp, Reduce.Op op, Tensor in, int[] axes, boolean keep) {
        try (Tensor out = KernelTestSupport.zeros(Reduce.outputShape(in.shape(), axes, keep))) {
            Reduce.reduce(tp, op, in, axes, keep, out);
            return out.toFloatArray();
        }
    }

    /**
     * Checks {@code in} (any layout) against the reference: MAX and MIN exactly; sums within a few float
     * roundings of the sum of magnitudes.
     */
    private static void check(String what, Reduce.Op op, Tensor in, int[] axes, boolean keep) {
        float[] x = in.toFloatArray();
        boolean[] red = flags(in.shape(), axes);
        float[] got = reduce(pool, op, in, axes, keep);
        double[] want = ReferenceReduce.reduce(kind(op), x, in.shape(), red);
        if (op == Reduce.Op.MAX || op == Reduce.Op.MIN) {
            assertClose(what, got, want, 0, 0);
            return;
        }
        float[] ax = x.clone();
        for (int i = 0; i < ax.length; i++) {
            ax[i] = Math.abs(ax[i]);
        }
        double[] mag = ReferenceReduce.reduce(kind(op), ax, in.shape(), red);
        for (int i = 0; i < got.length; i++) {
            // compensated sums, but the vector lanes are combined in float: up to log2(lanes) roundings
            double tol = 4e-7 * mag[i] + 1e-30;
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i] + " ± " + tol);
            }
        }
    }

    private static int[] randomAxes(Random rnd, int rank) {
        int[] axes = new int[rank];
        int k = 0;
        for (int i = 0; i < rank; i++) {
            if (rnd.nextInt(5) < 2) {
                axes[k++] = rnd.nextBoolean() ? i : i - rank;
            }
        }
        return Arrays.copyOf(axes, k);
    }

    @Test
    void matchesReferenceOnRandomShapesAndAxes() {
        Random rnd = new Random(41);
        for (int t = 0; t < 120; t++) {
            int rank = 1 + rnd.nextInt(4);
            int[] dims = new int[rank];
            long size = 1;
            for (int i = 0; i < rank; i++) {
                dims[i] = KernelTestSupport.pick(rnd, KernelTestSupport.SIZES);
                if (size * dims[i] > 100_000) {
                    dims[i] = KernelTestSupport.pick(rnd, 1, 3, 7);
                }
                size *= dims[i];
            }
            Shape s = Shape.of(dims);
            int[] axes = randomAxes(rnd, rank);
            boolean keep = rnd.nextBoolean();
            try (Tensor in = KernelTestSupport.uniform(rnd, s, -5, 5)) {
                for (Reduce.Op op : Reduce.Op.values()) {
                    check(op + " " + s + " axes " + Arrays.toString(axes) + " keep " + keep, op, in, axes, keep);
                }
            }
        }
    }

    @Test
    void coversEachPathOnNchw() {
        Random rnd = new Random(42);
        Shape s = Shape.of(2, 13, 31, 7);
        int[][] axesList = {{1}, {2, 3}, {0, 2}, {0}, {3}, {}, {0, 1, 2, 3}, {1, 3}, {-1, -3}};
        try (Tensor in = KernelTestSupport.uniform(rnd, s, -5, 5)) {
            Tensor permuted = in.permute(3, 1, 0, 2);
            Tensor sliced = in.slice(2, 1, 31, 3);
            for (int[] axes : axesList) {
                for (Reduce.Op op : Reduce.Op.values()) {
                    for (boolean keep : new boolean[]{false, true}) {
                        String what = op + " axes " + Arrays.toString(axes) + " keep " + keep;
                        check(what, op, in, axes, keep);
                        check(what + " permuted", op, permuted, axes, keep);
                        check(what + " sliced", op, sliced, axes, keep);
                    }
                }
            }
            Tensor wide = in.slice(0, 0, 1, 1).broadcastTo(Shape.of(3, 13, 31, 7));
            check("broadcast view", Reduce.Op.SUM, wide, new int[]{0, 2}, false);
        }
    }

    @Test
    void longSumsKeepFloatAccuracyAndParallelRunsMatchOneThread() {
        Random rnd = new Random(43);
        float[] x = KernelTestSupport.uniform(rnd, 1 << 20, 0, 1);
        double exact = 0;
        for (float v : x) {
            exact += v;
        }
        try (Tensor row = Tensor.ofFloats(Shape.of(1, 1 << 20), x);
             Tensor cols = Tensor.ofFloats(Shape.of(4096, 256), x)) {
            // plain float accumulation of 2^20 values near 0.5 drifts by ~1e-4 relative; compensated lanes leave
            // only the final combination of the lanes and the rounding to float
            assertThat(reduce(pool, Reduce.Op.SUM, row, new int[]{1}, false)[0])
                    .isCloseTo((float) exact, org.assertj.core.data.Offset.offset((float) (exact * 4e-7)));
            float[] got = reduce(pool, Reduce.Op.SUM, cols, new int[]{0}, false);
            assertThat(got).isEqualTo(reduce(single, Reduce.Op.SUM, cols, new int[]{0}, false));
            double[] want = ReferenceReduce.reduce(ReferenceReduce.Kind.SUM, x, cols.shape(),
                    new boolean[]{true, false});
            assertClose("column sums", got, want, 0, 2e-7);
            for (Reduce.Op op : Reduce.Op.values()) {
                for (int axis = 0; axis < 2; axis++) {
                    assertThat(reduce(pool, op, cols, new int[]{axis}, true))
                            .isEqualTo(reduce(single, op, cols, new int[]{axis}, true));
                }
            }
        }
    }

    @Test
    void specialValuesAndEmptyReductions() {
        float inf = Float.POSITIVE_INFINITY;
        // rows: NaN inside; +inf; +inf and -inf. Wide enough (19) for a vector body and a scalar tail.
        float[] x = new float[3 * 19];
        Arrays.fill(x, 1f);
        x[5] = Float.NaN;
        x[19 + 17] = inf;
        x[38 + 2] = inf;
        x[38 + 18] = -inf;
        try (Tensor in = Tensor.ofFloats(Shape.of(3, 19), x)) {
            Tensor cols = in.transpose(0, 1);
            for (Tensor t : new Tensor[]{in, cols}) {
                int axis = t == in ? 1 : 0;
                float[] sum = reduce(pool, Reduce.Op.SUM, t, new int[]{axis}, false);
                assertThat(sum[0]).isNaN();
                assertThat(sum[1]).isEqualTo(inf);
                assertThat(sum[2]).isNaN();
                float[] max = reduce(pool, Reduce.Op.MAX, t, new int[]{axis}, false);
                assertThat(max[0]).isNaN();
                assertThat(max[1]).isEqualTo(inf);
                float[] min = reduce(pool, Reduce.Op.MIN, t, new int[]{axis}, false);
                assertThat(min[0]).isNaN();
                assertThat(min[2]).isEqualTo(-inf);
            }
            // the contiguous copy of the transpose takes the row-accumulating path
            try (Tensor c = cols.contiguous()) {
                float[] sum = reduce(pool, Reduce.Op.SUM, c, new int[]{0}, false);
                assertThat(sum[0]).isNaN();
                assertThat(sum[1]).isEqualTo(inf);
                assertThat(sum[2]).isNaN();
            }
        }
        try (Tensor empty = KernelTestSupport.zeros(Shape.of(2, 0, 3))) {
            assertThat(reduce(pool, Reduce.Op.SUM, empty, new int[]{1}, false)).containsExactly(0, 0, 0, 0, 0, 0);
            assertThat(reduce(pool, Reduce.Op.MAX, empty, new int[]{1}, true)).containsOnly(Float.NEGATIVE_INFINITY);
            assertThat(reduce(pool, Reduce.Op.MIN, empty, new int[]{1}, true)).containsOnly(inf);
            assertThat(reduce(pool, Reduce.Op.MEAN, empty, new int[]{1}, true)).hasSize(6).containsOnly(Float.NaN);
            assertThat(reduce(pool, Reduce.Op.SUM, empty, new int[]{0, 2}, false)).isEmpty();
            assertThat(Reduce.outputShape(empty.shape(), new int[]{1}, true)).isEqualTo(Shape.of(2, 1, 3));
            assertThat(Reduce.outputShape(empty.shape(), new int[]{}, false)).isEqualTo(Shape.scalar());
        }
    }

    private static long[] arg(boolean max, Tensor in, int axis, boolean keep, boolean last) {
        try (Tensor out = Tensor.allocate(DType.INT64, Reduce.argOutputShape(in.shape(), axis, keep))) {
            if (max) {
                Reduce.argMax(pool, in, axis, keep, last, out);
            } else {
                Reduce.argMin(pool, in, axis, keep, last, out);
            }
            long[] v = new long[(int) out.size()];
            java.lang.foreign.MemorySegment.copy(out.segment(), ValueLayout.JAVA_LONG_UNALIGNED, 0, v, 0, v.length);
            return v;
        }
    }

    @Test
    void argMaxAndArgMinMatchReferenceWithTies() {
        Random rnd = new Random(44);
        int[][] shapes = {{1}, {7}, {97}, {3, 13}, {13, 64}, {2, 31, 7}, {3, 1, 97}, {2, 3, 13, 5}};
        for (int[] dims : shapes) {
            Shape s = Shape.of(dims);
            float[] x = new float[(int) s.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = rnd.nextInt(5);   // many ties
            }
            if (x.length > 3) {
                x[x.length / 2] = Float.NaN;
            }
            try (Tensor in = Tensor.ofFloats(s, x)) {
                for (int axis = 0; axis < dims.length; axis++) {
                    int outer = 1, inner = 1;
                    for (int i = 0; i < axis; i++) {
                        outer *= dims[i];
                    }
                    for (int i = axis + 1; i < dims.length; i++) {
                        inner *= dims[i];
                    }
                    for (boolean max : new boolean[]{true, false}) {
                        for (boolean last : new boolean[]{false, true}) {
                            long[] want = ReferenceReduce.arg(max, last, x, outer, dims[axis], inner);
                            assertThat(arg(max, in, axis, false, last))
                                    .as((max ? "argmax " : "argmin ") + s + " axis " + axis + " last " + last)
                                    .isEqualTo(want);
                            assertThat(arg(max, in, axis - dims.length, true, last)).isEqualTo(want);
                        }
                    }
                }
            }
        }
    }

    @Test
    void argMaxOnStridedInputAndKnownValues() {
        try (Tensor in = Tensor.ofFloats(Shape.of(2, 4), 3, 9, 9, 1, 5, 5, 0, Float.NaN)) {
            assertThat(arg(true, in, 1, false, false)).containsExactly(1, 3);
            assertThat(arg(true, in, 1, false, true)).containsExactly(2, 3);
            assertThat(arg(false, in, 1, true, false)).containsExactly(3, 3);
            assertThat(arg(false, in, 1, true, true)).containsExactly(3, 3);
            Tensor t = in.transpose(0, 1);
            assertThat(arg(true, t, 0, false, false)).containsExactly(1, 3);
            assertThat(arg(false, t, 1, false, false)).containsExactly(0, 1, 1, 1);
        }
    }

    @Test
    void rejectsBadShapesTypesAndAxes() {
        try (Tensor a = KernelTestSupport.zeros(Shape.of(2, 3, 4));
             Tensor out = KernelTestSupport.zeros(Shape.of(2, 4));
             Tensor wrong = KernelTestSupport.zeros(Shape.of(2, 3));
             Tensor ints = Tensor.allocate(DType.INT64, Shape.of(2, 3, 4));
             Tensor longOut = Tensor.allocate(DType.INT64, Shape.of(2, 4));
             Tensor empty = KernelTestSupport.zeros(Shape.of(2, 0))) {
            assertThatThrownBy(() -> Reduce.reduce(pool, Reduce.Op.SUM, a, new int[]{1}, false, wrong))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 4]")
                    .hasMessageContaining("[2, 3]").hasMessageContaining("ReduceSum");
            assertThatThrownBy(() -> Reduce.reduce(pool, Reduce.Op.MAX, ints, new int[]{1}, false, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Reduce.reduce(pool, Reduce.Op.MEAN, a, new int[]{1, -2}, false, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("repeated")
                    .hasMessageContaining("[2, 3, 4]");
            assertThatThrownBy(() -> Reduce.reduce(pool, Reduce.Op.MIN, a, new int[]{3}, false, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Axis 3")
                    .hasMessageContaining("[2, 3, 4]");
            assertThatThrownBy(() -> Reduce.argMax(pool, a, 1, false, false, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int64 [2, 4]")
                    .hasMessageContaining("FLOAT32");
            assertThatThrownBy(() -> Reduce.argMin(pool, a, 1, true, false, longOut))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 1, 4]")
                    .hasMessageContaining("[2, 4]");
            assertThatThrownBy(() -> Reduce.argMax(pool, ints, 1, false, false, longOut))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
            assertThatThrownBy(() -> Reduce.argMax(pool, a, -4, false, false, longOut))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Axis -4");
            try (Tensor emptyOut = Tensor.allocate(DType.INT64, Shape.of(2))) {
                assertThatThrownBy(() -> Reduce.argMax(pool, empty, 1, false, false, emptyOut))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty")
                        .hasMessageContaining("[2, 0]");
            }
        }
    }
}
