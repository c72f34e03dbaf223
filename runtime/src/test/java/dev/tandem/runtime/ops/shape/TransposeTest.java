package dev.tandem.runtime.ops.shape;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Transpose, Slice, Tile and Expand (the strided-copy engine) against a per-element reference on random shapes. */
class TransposeTest {
    private static ThreadPool pool;
    private static Sgemm gemm;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(3);
        gemm = new Sgemm(pool);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static Tensor random(Random rnd, DType dt, int... dims) {
        Tensor t = Tensor.allocate(dt, Shape.of(dims));
        for (long i = 0; i < t.size(); i++) {
            Elements.setLong(t, i, rnd.nextInt(1000) - 500);
        }
        return t;
    }

    static Tensor run(Op op, Node node, int opset, Tensor... in) {
        DType[] dt = new DType[in.length];
        Shape[] sh = new Shape[in.length];
        for (int i = 0; i < in.length; i++) {
            dt[i] = in[i].dtype();
            sh[i] = in[i].shape();
        }
        Prepared p = op.prepare(new OpContext(node, opset, dt, sh, in, gemm));
        Tensor out = Tensor.allocate(p.outputs().get(0).dtype(), p.outputs().get(0).shape());
        if (p.isAlias()) {
            Elements.copy(in[p.aliasOf()], 0, out, 0, out.size());
        } else {
            p.kernel().run(in, new Tensor[] {out});
        }
        return out;
    }

    static Node node(String type, int inputs, Map<String, Attribute> attrs) {
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < inputs; i++) {
            in.add(new Value("in" + i));
        }
        return new Node("n", type, "", in, List.of(new Value("out")), attrs);
    }

    @Test
    void transposeMatchesReferenceForEveryPermutationAndType() {
        Random rnd = new Random(1);
        int[][] shapes = {{1, 3, 5, 7}, {2, 33, 17, 40}, {4, 1, 9, 64}, {3, 70, 50}, {129, 65}, {1, 1, 1, 1},
            {2, 3, 4, 5, 6}, {2, 64, 70, 3}};
        for (int[] s : shapes) {
            for (DType dt : new DType[] {DType.FLOAT32, DType.INT64, DType.UINT8}) {
                if (dt != DType.FLOAT32 && s.length == 5) {
                    continue;
                }
                try (Tensor x = random(rnd, dt, s)) {
                    for (int[] perm : permutations(s.length)) {
                        long[] p = new long[perm.length];
                        for (int i = 0; i < p.length; i++) {
                            p[i] = perm[i];
                        }
                        try (Tensor y = run(new Transpose(), node("Transpose", 1, Map.of("perm",
                                Attribute.of("perm", p))), 13, x);
                             Tensor ref = x.permute(perm).contiguous()) {
                            assertSame(y, ref);
                        }
                    }
                }
            }
        }
    }

    @Test
    void sliceWithNegativeStepsMatchesReference() {
        Random rnd = new Random(2);
        try (Tensor x = random(rnd, DType.FLOAT32, 5, 7, 9)) {
            for (int trial = 0; trial < 200; trial++) {
                long[] starts = new long[3];
                long[] ends = new long[3];
                long[] steps = new long[3];
                for (int a = 0; a < 3; a++) {
                    int n = x.shape().dim(a);
                    starts[a] = rnd.nextInt(2 * n + 4) - n - 2;
                    ends[a] = rnd.nextInt(2 * n + 4) - n - 2;
                    steps[a] = (rnd.nextInt(3) + 1) * (rnd.nextBoolean() ? 1 : -1);
                }
                try (Tensor s = Tensor.ofLongs(Shape.of(3), starts); Tensor e = Tensor.ofLongs(Shape.of(3), ends);
                     Tensor ax = Tensor.ofLongs(Shape.of(3), 0, 1, 2); Tensor st = Tensor.ofLongs(Shape.of(3), steps);
                     Tensor y = run(new Slice(), node("Slice", 5, Map.of()), 13, x, s, e, ax, st)) {
                    // Reference: Python-style slicing per axis.
                    List<List<Integer>> idx = new ArrayList<>();
                    for (int a = 0; a < 3; a++) {
                        idx.add(pyRange(x.shape().dim(a), starts[a], ends[a], steps[a]));
                    }
                    assertThat(y.shape()).isEqualTo(Shape.of(idx.get(0).size(), idx.get(1).size(),
                            idx.get(2).size()));
                    long k = 0;
                    for (int i : idx.get(0)) {
                        for (int j : idx.get(1)) {
                            for (int l : idx.get(2)) {
                                assertThat(Elements.getDouble(y, k++)).isEqualTo(x.getDouble(i, j, l));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void tileAndExpandMatchReference() {
        Random rnd = new Random(3);
        try (Tensor x = random(rnd, DType.INT32, 2, 1, 3); Tensor reps = Tensor.ofLongs(Shape.of(3), 3, 4, 2);
             Tensor y = run(new Tile(), node("Tile", 2, Map.of()), 13, x, reps)) {
            assertThat(y.shape()).isEqualTo(Shape.of(6, 4, 6));
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 4; j++) {
                    for (int k = 0; k < 6; k++) {
                        assertThat(y.getDouble(i, j, k)).isEqualTo(x.getDouble(i % 2, 0, k % 3));
                    }
                }
            }
        }
        try (Tensor x = random(rnd, DType.FLOAT32, 3, 1); Tensor shape = Tensor.ofLongs(Shape.of(3), 2, 1, 5);
             Tensor y = run(new Expand(), node("Expand", 2, Map.of()), 13, x, shape)) {
            assertThat(y.shape()).isEqualTo(Shape.of(2, 3, 5));
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int k = 0; k < 5; k++) {
                        assertThat(y.getDouble(i, j, k)).isEqualTo(x.getDouble(j, 0));
                    }
                }
            }
        }
    }

    private static List<Integer> pyRange(int n, long start, long end, long step) {
        List<Integer> out = new ArrayList<>();
        long s = start < 0 ? start + n : start;
        long e = end < 0 ? end + n : end;
        if (step > 0) {
            s = Math.clamp(s, 0, n);
            e = Math.clamp(e, 0, n);
            for (long i = s; i < e; i += step) {
                out.add((int) i);
            }
        } else {
            // ONNX (unlike Python) clamps a negative-step start into [0, n-1].
            s = Math.clamp(s, 0, n - 1);
            e = Math.clamp(e, -1, n - 1);
            for (long i = s; i > e; i += step) {
                out.add((int) i);
            }
        }
        return out;
    }

    private static void assertSame(Tensor y, Tensor ref) {
        assertThat(y.shape()).isEqualTo(ref.shape());
        for (long i = 0; i < y.size(); i++) {
            if (Elements.getDouble(y, i) != Elements.getDouble(ref, i)) {
                throw new AssertionError("element " + i + " differs: " + Elements.getDouble(y, i) + " vs "
                        + Elements.getDouble(ref, i) + " for " + ref.shape());
            }
        }
    }

    private static List<int[]> permutations(int n) {
        List<int[]> out = new ArrayList<>();
        permute(new int[n], new boolean[n], 0, out);
        return out;
    }

    private static void permute(int[] cur, boolean[] used, int pos, List<int[]> out) {
        if (pos == cur.length) {
            out.add(cur.clone());
            return;
        }
        for (int i = 0; i < cur.length; i++) {
            if (!used[i]) {
                used[i] = true;
                cur[pos] = i;
                permute(cur, used, pos + 1, out);
                used[i] = false;
            }
        }
    }
}
