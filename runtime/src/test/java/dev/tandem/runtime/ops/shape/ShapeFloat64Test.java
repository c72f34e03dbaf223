package dev.tandem.runtime.ops.shape;

import dev.tandem.runtime.ops.Float64Parity;
import dev.tandem.runtime.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The shape ops training graphs use move float64 elements exactly as float32 ones. */
class ShapeFloat64Test {
    private final Float64Parity f = new Float64Parity(3);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void copiesAndViewsAreExact() {
        Tensor x = f.random(2, 3, 1, 5);
        f.node("Flatten").attr("axis", 2L).in(x).tol(0).check();
        f.node("Reshape").in(x, f.longs(new int[] {2}, -1, 5)).constant(1).tol(0).check();
        f.node("Squeeze").opset(13).in(x, f.longs(new int[] {1}, 2)).constant(1).tol(0).check();
        f.node("Unsqueeze").opset(13).in(x, f.longs(new int[] {1}, 0)).constant(1).tol(0).check();
        f.node("Transpose").ints("perm", 3, 0, 2, 1).in(x).tol(0).check();
        f.node("Concat").attr("axis", 1L).in(x, f.random(2, 4, 1, 5), f.random(2, 1, 1, 5)).tol(0).check();
        f.node("Identity").in(x).tol(0).check();
        f.node("Dropout").opset(13).in(x).tol(0).check();
        f.node("Dropout").opset(13).outputs(2).in(x).tol(0).check();
        f.node("Expand").in(f.random(3, 1), f.longs(new int[] {3}, 2, 3, 4)).constant(1).tol(0).check();
    }
}
