package dev.tandem.runtime.ops.math;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Float64Parity;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The float64 (scalar) paths of the math ops that training differentiates, against their float32 paths on random
 * inputs of odd shapes, broadcasting included.
 */
class MathFloat64Test {
    private final Float64Parity f = new Float64Parity(5);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void activations() {
        Tensor x = f.uniform(-8f, 8f, 3, 7, 5);
        for (String op : new String[] {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu",
            "Selu", "Softplus", "Exp", "Neg", "Abs"}) {
            f.node(op).in(x).check();
        }
        f.node("LeakyRelu").attr("alpha", 0.3f).in(x).check();
        f.node("Elu").attr("alpha", 0.7f).in(x).check();
        f.node("HardSigmoid").attr("alpha", 0.3f).attr("beta", 0.4f).in(x).check();
        f.node("Selu").attr("alpha", 1.5f).attr("gamma", 0.9f).in(x).check();
        Tensor positive = f.uniform(0.01f, 9f, 13, 1);
        f.node("Log").in(positive).check();
        f.node("Sqrt").in(positive).check();
        // softplus far out on both sides (no overflow)
        Tensor wide = f.of(DType.FLOAT32, new int[] {4}, -100, -30, 30, 100);
        f.node("Softplus").in(wide).check();
        assertThat(Elements.toDoubles(f.node("Softplus").in(f.widen(wide)).run(new Tensor[] {f.widen(wide)})[0])[3])
                .isEqualTo(100);
    }

    @Test
    void clip() {
        Tensor x = f.uniform(-3f, 3f, 5, 9);
        f.node("Clip").opset(6).attr("min", -0.5f).attr("max", 1.2f).in(x).check();
        Tensor lo = f.of(DType.FLOAT32, new int[0], -0.7), hi = f.of(DType.FLOAT32, new int[0], 0.9);
        f.node("Clip").opset(13).in(x, lo, hi).check();
        f.node("Clip").opset(13).in(x, null, hi).check();
        f.node("Clip").opset(13).in(x, lo).check();
        f.node("Clip").opset(13).in(x).check();
    }

    @Test
    void binaryArithmeticBroadcast() {
        int[][][] shapes = {{{3, 4, 5}, {3, 4, 5}}, {{3, 4, 5}, {5}}, {{3, 1, 5}, {1, 4, 1}}, {{1}, {2, 3}},
            {{7}, {}}, {{2, 1, 3, 1}, {4, 1, 1}}};
        for (int[][] s : shapes) {
            for (String op : new String[] {"Add", "Sub", "Mul", "Div"}) {
                f.node(op).in(f.random(s[0]), f.uniform(0.5f, 2f, s[1])).check();
            }
            f.node("Pow").in(f.uniform(0.1f, 3f, s[0]), f.uniform(-2f, 2f, s[1])).check();
        }
    }

    @Test
    void reductions() {
        Tensor x = f.random(3, 5, 7, 2);
        for (String op : new String[] {"ReduceSum", "ReduceMean", "ReduceMax"}) {
            for (long keep = 0; keep < 2; keep++) {
                f.node(op).opset(11).attr("keepdims", keep).in(x).check();
                f.node(op).opset(11).attr("keepdims", keep).ints("axes", 1, -1).in(x).check();
                f.node(op).opset(11).attr("keepdims", keep).ints("axes", 0).in(x).check();
                Tensor axes = f.longs(new int[] {2}, 0, 2);
                f.node(op).opset(18).attr("keepdims", keep).in(x, axes).constant(1).check();
            }
        }
        f.node("ReduceSum").opset(13).in(x, f.longs(new int[] {1}, 3)).constant(1).check();
    }

    @Test
    void variadicAndWhere() {
        Tensor a = f.random(3, 1, 5), b = f.random(4, 1), c = f.random(5);
        for (String op : new String[] {"Sum", "Mean", "Max", "Min"}) {
            f.node(op).in(a).check();
            f.node(op).in(a, b).check();
            f.node(op).in(a, b, c).check();
        }
        Tensor cond = f.of(DType.BOOL, new int[] {4, 5}, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1);
        f.node("Where").in(cond, a, b).check();
    }
}
