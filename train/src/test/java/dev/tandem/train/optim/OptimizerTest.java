package dev.tandem.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.BatchNorm2d;
import dev.tandem.train.nn.Conv2d;
import dev.tandem.train.nn.Linear;
import dev.tandem.train.nn.Sequential;
import dev.tandem.train.nn.TraceMode;
import dev.tandem.train.nn.Traced;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reference updates against hand-computed PyTorch values, and the step nodes' structure. */
class OptimizerTest {
    private static float[][][] zeros(float[][] p, int states) {
        float[][][] s = new float[p.length][states][];
        for (int i = 0; i < p.length; i++) {
            for (int k = 0; k < states; k++) {
                s[i][k] = new float[p[i].length];
            }
        }
        return s;
    }

    private static void close(float[] got, double... want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat((double) got[i]).as("element %d", i).isCloseTo(want[i], within(1e-6 * (1 + Math.abs(want[i]))));
        }
    }

    @Test
    void sgdNesterovWithWeightDecay() {
        Sgd sgd = Sgd.of(0.1).withMomentum(0.9).withNesterov(true).withWeightDecay(0.01);
        float[][] p = {{1, -2}};
        float[][] g = {{0.5f, 0.25f}};
        float[][][] s = zeros(p, 1);
        boolean[] decay = {true};
        // torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), same gradient twice.
        sgd.referenceStep(0.1, 1, p, g, s, decay);
        close(p[0], 0.9031, -2.0437);
        close(s[0][0], 0.51, 0.23);
        sgd.referenceStep(0.1, 2, p, g, s, decay);
        close(p[0], 0.76507413, -2.105947);
        close(s[0][0], 0.968031, 0.43656301);
        assertThat(g[0]).containsExactly(0.5f, 0.25f);
        // Plain SGD, no momentum: p -= lr·g.
        float[][] q = {{1, 2}};
        Sgd.of(0.5).referenceStep(0.5, 1, q, new float[][]{{2, -2}}, zeros(q, 1), new boolean[]{true});
        close(q[0], 0, 3);
    }

    @Test
    void adamAndAdamW() {
        float[][] g1 = {{0.5f, 0.25f}}, g2 = {{-0.1f, 0.3f}};
        // torch.optim.Adam([p], lr=0.01, weight_decay=0.1): L2 added to the gradient.
        Adam adam = Adam.of(0.01).withWeightDecay(0.1);
        float[][] p = {{1, -2}};
        float[][][] s = zeros(p, 2);
        adam.referenceStep(0.01, 1, p, g1, s, new boolean[]{true});
        close(p[0], 0.99, -2.01);
        close(s[0][0], 0.06, 0.005);
        close(s[0][1], 3.6e-4, 2.5e-6);
        adam.referenceStep(0.01, 2, p, g2, s, new boolean[]{true});
        close(p[0], 0.98331184, -2.01966249);
        close(s[0][0], 0.0539, 0.0144);
        close(s[0][1], 3.59641e-04, 1.22985e-05);
        // torch.optim.AdamW([p], lr=0.01, weight_decay=0.1): decoupled.
        AdamW adamW = AdamW.of(0.01).withWeightDecay(0.1);
        float[][] w = {{1, -2}};
        float[][][] sw = zeros(w, 2);
        adamW.referenceStep(0.01, 1, w, g1, sw, new boolean[]{true});
        close(w[0], 0.989, -2.008);
        adamW.referenceStep(0.01, 2, w, g2, sw, new boolean[]{true});
        close(w[0], 0.98290074, -2.01599813);
        close(sw[0][0], 0.035, 0.0525);
        close(sw[0][1], 0.00025975, 0.00015244);
        // No decay for this parameter: the first step moves by lr·sign(g).
        float[][] n = {{1, -2}};
        adamW.referenceStep(0.01, 1, n, g1, zeros(n, 2), new boolean[]{false});
        close(n[0], 0.99, -2.01);
        assertThat(AdamW.of(1e-3).weightDecay()).isEqualTo(0.01);
        assertThat(Adam.of(1e-3).weightDecay()).isZero();
        assertThatThrownBy(() -> adam.referenceStep(0.01, 0, p, g1, s, new boolean[]{true}))
                .hasMessageContaining("1-based");
    }

    @Test
    void clippingUsesTheGlobalNormBeforeDecay() {
        float[][] p = {{0, 0}, {0}};
        float[][] g = {{3, 0}, {4}};
        double norm = Sgd.of(1).withMaxGradNorm(1).withWeightDecay(0.5)
                .referenceStep(1, 1, p, g, zeros(p, 1), new boolean[]{true, true});
        assertThat(norm).isEqualTo(5);
        double k = 1 / (5 + 1e-6);
        close(p[0], -3 * k, 0);
        close(p[1], -4 * k);
        // Within the bound: unchanged.
        float[][] q = {{0}};
        Sgd.of(1).withMaxGradNorm(10).referenceStep(1, 1, q, new float[][]{{2}}, zeros(q, 1), new boolean[]{true});
        close(q[0], -2);
        assertThat(Clipping.scale(5, 0)).isEqualTo(1);
    }

    @Test
    void configurationsAreChecked() {
        assertThatThrownBy(() -> Sgd.of(0.1).withNesterov(true)).hasMessageContaining("Nesterov");
        assertThatThrownBy(() -> Sgd.of(-1)).hasMessageContaining("learning rate");
        assertThatThrownBy(() -> Adam.of(0.1).withBetas(1, 0.9)).hasMessageContaining("betas");
        assertThatThrownBy(() -> AdamW.of(0.1).withMaxGradNorm(-1)).hasMessageContaining("grad norm");
        assertThat(Sgd.of(0.1).stateNames()).containsExactly("momentum_buffer");
        assertThat(Adam.of(0.1).stateNames()).containsExactly("exp_avg", "exp_avg_sq");
        Sgd s = Sgd.of(0.1).withDecayVectors(false);
        assertThat(s.decays("fc.weight", Shape.of(3, 4))).isTrue();
        assertThat(s.decays("fc.bias", Shape.of(3))).isFalse();
        assertThat(Sgd.of(0.1).decays("fc.bias", Shape.of(3))).isTrue();
    }

    /** A TRAIN trace of conv + BN + linear with stand-in gradient inputs (the autodiff is not on this branch). */
    private static List<Value> fakeGradients(Traced t) {
        List<Value> grads = new ArrayList<>();
        for (Traced.Binding b : t.parameters()) {
            grads.add(t.tracer().input("grad." + b.name(), DType.FLOAT32, b.parameter().shape().dims()).value());
        }
        return grads;
    }

    private static Sequential net() {
        return new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new dev.tandem.train.nn.Flatten(),
                new Linear(8, 3));
    }

    @Test
    void sgdStepNode() {
        try (Sequential m = net(); Traced t = m.trace(TraceMode.TRAIN, 4, 1, 4, 4)) {
            List<Value> grads = fakeGradients(t);
            Sgd sgd = Sgd.of(0.1).withMomentum(0.9).withNesterov(true).withWeightDecay(5e-4).withMaxGradNorm(2)
                    .withDecayVectors(false);
            OptimizerStep step = sgd.emitStep(t.tracer(), t.parameters(), grads);
            Node n = step.node();
            assertThat(n.opType()).isEqualTo("SgdStep");
            assertThat(n.domain()).isEqualTo(Node.TANDEM_DOMAIN);
            int k = t.parameters().size();
            assertThat(k).isEqualTo(6);
            // lr, then the momentum (so a schedule may cycle it), then parameters, gradients, buffers
            assertThat(n.inputs()).hasSize(2 + 3 * k);
            assertThat(n.input(0).name()).isEqualTo("lr");
            assertThat(n.input(0).declared().dims()).isEmpty();
            assertThat(n.input(1).name()).isEqualTo("momentum");
            assertThat(step.momentum().value()).isSameAs(n.input(1));
            for (int i = 0; i < k; i++) {
                assertThat(n.input(2 + i)).isSameAs(t.parameters().get(i).var().value());
                assertThat(n.input(2 + k + i)).isSameAs(grads.get(i));
                assertThat(n.input(2 + 2 * k + i).name()).isEqualTo(t.parameters().get(i).name() + ".momentum_buffer");
                assertThat(n.input(2 + 2 * k + i).declared().dims())
                        .containsExactly(t.parameters().get(i).var().value().declared().dims());
            }
            assertThat(step.state()).extracting(OptimizerStep.State::name).containsExactly("0.weight.momentum_buffer",
                    "0.bias.momentum_buffer", "1.weight.momentum_buffer", "1.bias.momentum_buffer",
                    "3.weight.momentum_buffer", "3.bias.momentum_buffer");
            assertThat(step.step()).isNull();
            assertThat(n.attributes().keySet()).containsExactly("momentum", "nesterov", "weight_decay", "decay",
                    "max_grad_norm");
            assertThat((Float) n.attribute("momentum").value()).isEqualTo(0.9f);
            assertThat(n.attribute("nesterov").value()).isEqualTo(1L);
            assertThat((Float) n.attribute("weight_decay").value()).isEqualTo(5e-4f);
            assertThat((long[]) n.attribute("decay").value()).containsExactly(1, 0, 0, 0, 1, 0);
            assertThat((Float) n.attribute("max_grad_norm").value()).isEqualTo(2f);
            assertThat(n.outputs()).hasSize(1);
            assertThat(t.graph().outputs()).contains(step.gradNorm().value());
            assertThat(step.gradNorm().shape()).isEqualTo(Shape.scalar());
            t.graph().sort();
        }
    }

    @Test
    void adamStepNode() {
        try (Sequential m = net(); Traced t = m.trace(TraceMode.TRAIN, 4, 1, 4, 4)) {
            List<Value> grads = fakeGradients(t);
            OptimizerStep step = AdamW.of(1e-3).emitStep(t.tracer(), t.parameters(), grads);
            Node n = step.node();
            int k = t.parameters().size();
            assertThat(n.opType()).isEqualTo("AdamStep");
            assertThat(n.inputs()).hasSize(2 + 4 * k);
            assertThat(n.input(1).name()).isEqualTo("step");
            assertThat(n.input(1).declared().dtype()).isEqualTo(DType.INT64);
            assertThat(step.step().value()).isSameAs(n.input(1));
            assertThat(n.input(2 + 2 * k).name()).isEqualTo("0.weight.exp_avg");
            assertThat(n.input(2 + 3 * k).name()).isEqualTo("0.weight.exp_avg_sq");
            assertThat(n.input(1 + 4 * k).name()).isEqualTo("3.bias.exp_avg_sq");
            assertThat(n.attributes().keySet()).containsExactly("beta1", "beta2", "epsilon", "weight_decay",
                    "decoupled", "decay", "max_grad_norm");
            assertThat(n.attribute("decoupled").value()).isEqualTo(1L);
            assertThat((Float) n.attribute("epsilon").value()).isEqualTo(1e-8f);
            assertThat((long[]) n.attribute("decay").value()).containsOnly(1);
        }
        try (Sequential m = net(); Traced t = m.trace(TraceMode.TRAIN, 4, 1, 4, 4)) {
            Node n = Adam.of(1e-3).emitStep(t.tracer(), t.parameters(), fakeGradients(t)).node();
            assertThat(n.attribute("decoupled").value()).isEqualTo(0L);
        }
    }

    @Test
    void stepNodeArgumentsAreChecked() {
        try (Sequential m = net(); Traced t = m.trace(TraceMode.TRAIN, 4, 1, 4, 4)) {
            List<Value> grads = fakeGradients(t);
            assertThatThrownBy(() -> Sgd.of(0.1).emitStep(t.tracer(), t.parameters(), grads.subList(0, 2)))
                    .hasMessageContaining("6 parameters but 2 gradients");
            assertThatThrownBy(() -> Sgd.of(0.1).emitStep(t.tracer(), t.buffers(), grads.subList(0, 2)))
                    .hasMessageContaining("buffer");
        }
        try (Sequential m = net(); Traced t = m.trace(TraceMode.EXPORT, 4, 1, 4, 4)) {
            assertThatThrownBy(() -> Sgd.of(0.1).emitStep(t.tracer(), t.parameters(), List.of(
                    t.graph().inputs().getFirst(), t.graph().inputs().getFirst(), t.graph().inputs().getFirst(),
                    t.graph().inputs().getFirst(), t.graph().inputs().getFirst(), t.graph().inputs().getFirst())))
                    .hasMessageContaining("initializer");
        }
    }
}
