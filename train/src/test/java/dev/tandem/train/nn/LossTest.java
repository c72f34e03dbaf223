package dev.tandem.train.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The losses' graph structure; MSE (standard ops only) also runs. */
class LossTest {
    @Test
    void crossEntropyEmitsOneSoftmaxCrossEntropyNode() {
        try (Linear l = new Linear(4, 3); Traced t = l.trace(TraceMode.TRAIN, 5, 4)) {
            CrossEntropyLoss ce = new CrossEntropyLoss().withLabelSmoothing(0.1)
                    .withClassWeights(new float[]{1, 2, 0.5f});
            Var labels = ce.declareTarget(t.output(), "labels");
            assertThat(labels.dtype()).isEqualTo(DType.INT64);
            assertThat(labels.value().declared().dims()).containsExactly(-1);
            Var loss = ce.emit(t.output(), labels);
            assertThat(loss.shape()).isEqualTo(Shape.scalar());
            Node n = loss.value().producer();
            assertThat(n.opType()).isEqualTo("SoftmaxCrossEntropy");
            assertThat(n.domain()).isEqualTo(Node.TANDEM_DOMAIN);
            assertThat(n.inputs()).hasSize(3);
            assertThat(n.input(0)).isSameAs(t.output().value());
            assertThat(n.input(1)).isSameAs(labels.value());
            assertThat(n.input(2).constant().toFloatArray()).containsExactly(1, 2, 0.5f);
            assertThat(n.outputs()).hasSize(2);
            assertThat((Float) n.attribute("label_smoothing").value()).isEqualTo(0.1f);
            assertThat(n.attribute("reduction").value()).isEqualTo("mean");
            assertThat(t.graph().opsets()).containsEntry(Node.TANDEM_DOMAIN, 1);

            Var plain = new CrossEntropyLoss().withReduction(Loss.Reduction.SUM).emit(t.output(), labels);
            assertThat(plain.value().producer().inputs()).hasSize(2);
            assertThat(plain.value().producer().attribute("reduction").value()).isEqualTo("sum");

            assertThatThrownBy(() -> new CrossEntropyLoss().withClassWeights(new float[]{1, 2}).emit(t.output(), labels))
                    .hasMessageContaining("2 class weights for 3 classes");
            assertThatThrownBy(() -> new CrossEntropyLoss().emit(t.output(), t.output()))
                    .hasMessageContaining("labels must be int64 [5]");
            assertThatThrownBy(() -> new CrossEntropyLoss(1.5, null, Loss.Reduction.MEAN))
                    .hasMessageContaining("[0, 1]");
        }
    }

    @Test
    void nllIsLogSoftmaxThenNegativeLogLikelihood() {
        try (Linear l = new Linear(4, 3); Traced t = l.trace(TraceMode.TRAIN, 5, 4)) {
            NllLoss nll = NllLoss.onLogits(new float[]{1, 1, 3});
            Var loss = nll.emit(t.output(), nll.declareTarget(t.output(), "labels"));
            Node n = loss.value().producer();
            assertThat(n.opType()).isEqualTo("NegativeLogLikelihoodLoss");
            assertThat(n.domain()).isEmpty();
            assertThat(n.attribute("reduction").value()).isEqualTo("mean");
            assertThat(n.input(2).constant().toFloatArray()).containsExactly(1, 1, 3);
            Node ls = n.input(0).producer();
            assertThat(ls.opType()).isEqualTo("LogSoftmax");
            assertThat(ls.attribute("axis").value()).isEqualTo(1L);
            assertThat(ls.input(0)).isSameAs(t.output().value());
        }
        try (Linear l = new Linear(4, 3); Traced t = l.trace(TraceMode.TRAIN, 5, 4)) {
            NllLoss nll = NllLoss.onLogProbabilities(null);
            Var loss = nll.emit(t.output(), nll.declareTarget(t.output(), "labels"));
            Node n = loss.value().producer();
            assertThat(n.inputs()).hasSize(2);
            assertThat(n.input(0)).isSameAs(t.output().value());
        }
    }

    @Test
    void mseRunsAndMatchesADirectComputation() {
        Tracer t = new Tracer(TraceMode.EVAL);
        try (Graph g = t.graph()) {
            Var p = t.batchInput("p", DType.FLOAT32, 3, 4);
            MseLoss mse = new MseLoss();
            Var target = mse.declareTarget(p, "target");
            Var loss = mse.emit(p, target);
            t.output(loss);
            assertThat(g.nodes()).extracting(Node::opType).containsExactly("Sub", "Mul", "ReduceMean");
            assertThat(loss.value().producer().attribute("keepdims").value()).isEqualTo(0L);
            Random r = new Random(4);
            float[] a = Plans.random(r, 12), b = Plans.random(r, 12);
            double want = 0;
            for (int i = 0; i < 12; i++) {
                want += (a[i] - b[i]) * (a[i] - b[i]) / 12.0;
            }
            try (Tensor ta = Tensor.ofFloats(Shape.of(3, 4), a); Tensor tb = Tensor.ofFloats(Shape.of(3, 4), b);
                 Traced traced = new Traced(t, p, loss, java.util.List.of(), java.util.List.of())) {
                float[] got = Plans.run(traced, Map.of("p", ta, "target", tb));
                assertThat((double) got[0]).isCloseTo(want, within(1e-5));
            }
        }
    }
}
