package dev.tandem.runtime.ops.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Float64Parity;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: hand-computed values for every reduction, weights and
 * ignore_index, bad targets, and float64 against float32 on random shapes.
 */
class LossOpsTest {
    private final Float64Parity f = new Float64Parity(11);

    @AfterEach
    void close() {
        f.close();
    }

    private Tensor logProbs() {
        return f.of(DType.FLOAT32, new int[] {2, 3}, -1, -2, -3, -0.5, -1.5, -2.5);
    }

    private double nll(String reduction, Tensor x, Tensor target, Tensor weight, Long ignore) {
        var c = f.node("NegativeLogLikelihoodLoss").opset(13).attr("reduction", reduction);
        if (ignore != null) {
            c.attr("ignore_index", ignore.longValue());
        }
        Tensor[] in = weight == null ? new Tensor[] {x, target} : new Tensor[] {x, target, weight};
        Tensor y = c.in(in).run(in)[0];
        assertThat(y.shape()).isEqualTo(reduction.equals("none") ? target.shape() : Shape.scalar());
        return Elements.toDoubles(y)[reduction.equals("none") ? 1 : 0];
    }

    @Test
    void negativeLogLikelihoodByHand() {
        Tensor x = logProbs(), t = f.longs(new int[] {2}, 2, 0);
        Tensor w = f.of(DType.FLOAT32, new int[] {3}, 0.5, 1, 2);
        assertThat(nll("none", x, t, null, null)).isEqualTo(0.5);
        assertThat(nll("sum", x, t, null, null)).isEqualTo(3.5);
        assertThat(nll("mean", x, t, null, null)).isEqualTo(1.75);
        assertThat(nll("none", x, t, w, null)).isEqualTo(0.25);
        assertThat(nll("sum", x, t, w, null)).isEqualTo(6.25);
        assertThat(nll("mean", x, t, w, null)).isEqualTo(6.25 / 2.5);
        // the second sample ignored: it counts neither in the sum nor in the mean's weights
        assertThat(nll("none", x, t, null, 0L)).isEqualTo(0);
        assertThat(nll("mean", x, t, null, 0L)).isEqualTo(3);
        assertThat(nll("mean", x, t, w, 0L)).isEqualTo(3);
        Tensor negative = f.of(DType.INT32, new int[] {2}, -1, 1);
        assertThat(nll("mean", x, negative, w, -1L)).isEqualTo(1.5);
        // everything ignored: the mean is 0/0, as in the spec's reference
        assertThat(nll("mean", x, f.longs(new int[] {2}, 0, 0), null, 0L)).isNaN();
    }

    @Test
    void softmaxCrossEntropyByHand() {
        Tensor x = f.of(DType.FLOAT32, new int[] {2, 3}, 1, 2, 3, 0, 0, 0);
        Tensor t = f.longs(new int[] {2}, 0, 2);
        var c = f.node("SoftmaxCrossEntropyLoss").opset(13).attr("reduction", "none").outputs(2).in(x, t);
        Tensor[] y = c.run(new Tensor[] {x, t});
        double lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
        assertThat(Elements.toDoubles(y[0])).containsExactly(new double[] {lse - 1, Math.log(3)}, within(1e-6));
        assertThat(y[1].shape()).isEqualTo(Shape.of(2, 3));
        assertThat(Elements.toDoubles(y[1])).containsExactly(new double[] {1 - lse, 2 - lse, 3 - lse, -Math.log(3),
            -Math.log(3), -Math.log(3)}, within(1e-6));
        Tensor mean = f.node("SoftmaxCrossEntropyLoss").opset(12).in(x, t).run(new Tensor[] {x, t})[0];
        assertThat(Elements.toDoubles(mean)[0]).isCloseTo((lse - 1 + Math.log(3)) / 2, within(1e-6));
    }

    @Test
    void badTargetsAndShapes() {
        Tensor x = logProbs();
        assertThatThrownBy(() -> nll("mean", x, f.longs(new int[] {2}, 3, 0), null, null))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("target 3");
        assertThatThrownBy(() -> nll("mean", x, f.longs(new int[] {2}, -1, 0), null, -100L))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("ignore_index -100");
        assertThatThrownBy(() -> nll("mean", x, f.longs(new int[] {3}, 0, 0, 0), null, null))
                .isInstanceOf(ModelException.class).hasMessageContaining("target must be [N, d1, ...]");
        assertThatThrownBy(() -> nll("avg", x, f.longs(new int[] {2}, 0, 0), null, null))
                .isInstanceOf(ModelException.class).hasMessageContaining("unknown reduction 'avg'");
    }

    @Test
    void float64MatchesFloat32() {
        int[][] shapes = {{3, 5}, {1, 1}, {2, 7, 3}, {2, 3, 2, 1, 3}};
        for (int[] s : shapes) {
            int c = s[1];
            int[] ts = new int[s.length - 1];
            ts[0] = s[0];
            System.arraycopy(s, 2, ts, 1, s.length - 2);
            Tensor x = f.uniform(-4f, 0f, s), target = f.labels(c, ts), w = f.uniform(0.2f, 2f, c);
            for (String r : new String[] {"none", "sum", "mean"}) {
                for (boolean weighted : new boolean[] {false, true}) {
                    Tensor[] in = weighted ? new Tensor[] {x, target, w} : new Tensor[] {x, target};
                    f.node("NegativeLogLikelihoodLoss").attr("reduction", r).in(in).check();
                    f.node("NegativeLogLikelihoodLoss").attr("reduction", r).attr("ignore_index", 0L).in(in).check();
                    f.node("SoftmaxCrossEntropyLoss").attr("reduction", r).in(in).check();
                    f.node("SoftmaxCrossEntropyLoss").attr("reduction", r).attr("ignore_index", (long) c - 1)
                            .outputs(2).in(in).check();
                }
            }
        }
    }
}
