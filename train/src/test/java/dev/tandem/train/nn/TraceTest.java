package dev.tandem.train.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Train-mode graph structure, the binding of module state, shapes and errors of the functional ops. */
class TraceTest {
    private static List<Node> ofType(Graph g, String type) {
        return g.nodes().stream().filter(n -> n.opType().equals(type)).toList();
    }

    private static float floatAttr(Node n, String name) {
        return (Float) n.attribute(name).value();
    }

    @Test
    void trainGraphHasTrainingOpsAndStateInputs() {
        try (Module m = Zoo.create("fashionnet", 1, 28, 28, 10); Traced t = m.trace(TraceMode.TRAIN, 8, 1, 28, 28)) {
            Graph g = t.graph();
            assertThat(g.opsets()).containsEntry("", 17).containsEntry(Node.TANDEM_DOMAIN, 1);
            assertThat(ofType(g, "BatchNormalization")).isEmpty();
            List<Node> bns = ofType(g, "BatchNormTrain");
            assertThat(bns).hasSize(4);
            Node bn = bns.getFirst();
            assertThat(bn.domain()).isEqualTo(Node.TANDEM_DOMAIN);
            assertThat(bn.input(0).producer().opType()).isEqualTo("Conv");
            assertThat(bn.input(0).name()).startsWith("features.0/Conv");
            assertThat(bn.inputs().subList(1, 5)).extracting(Value::name).containsExactly("features.1.weight",
                    "features.1.bias", "features.1.running_mean", "features.1.running_var");
            assertThat(bn.outputs()).hasSize(3);
            assertThat(floatAttr(bn, "epsilon")).isEqualTo(1e-5f);
            assertThat(floatAttr(bn, "momentum")).isEqualTo(0.1f);
            assertThat(bn.name()).startsWith("features.1/");

            List<Node> drops = ofType(g, "DropoutTrain");
            assertThat(drops).hasSize(1);
            Node d = drops.getFirst();
            assertThat(d.domain()).isEqualTo(Node.TANDEM_DOMAIN);
            assertThat(d.input(1).name()).isEqualTo(Tracer.SEED_INPUT);
            assertThat(d.outputs()).hasSize(2);
            assertThat(floatAttr(d, "ratio")).isEqualTo(0.25f);
            assertThat(t.seed().value()).isSameAs(d.input(1));
            assertThat(t.seed().value().declared()).isEqualTo(new TensorType(DType.INT64, 7, new long[0],
                    new String[0]));

            // Inputs: data, parameters, buffers, seed; each parameter input declared with its shape.
            List<String> inputs = g.inputs().stream().map(Value::name).toList();
            List<String> expected = new java.util.ArrayList<>(List.of("input"));
            expected.addAll(m.namedParameters().keySet());
            expected.addAll(m.namedBuffers().keySet());
            expected.add(Tracer.SEED_INPUT);
            assertThat(inputs).containsExactlyElementsOf(expected);
            assertThat(t.parameters()).extracting(Traced.Binding::name)
                    .containsExactlyElementsOf(m.namedParameters().keySet());
            assertThat(t.buffers()).extracting(Traced.Binding::name)
                    .containsExactlyElementsOf(m.namedBuffers().keySet());
            Value w = g.find("classifier.1.weight");
            assertThat(w.declared().dims()).containsExactly(128, 3136);
            assertThat(w.isConstant()).isFalse();
            TensorType in = g.inputs().getFirst().declared();
            assertThat(in.dims()).containsExactly(-1, 1, 28, 28);
            assertThat(in.dimNames()[0]).isEqualTo("batch");
            assertThat(g.outputs()).containsExactly(t.output().value());
            assertThat(t.output().value().declared().dims()).containsExactly(-1, 10);
            assertThat(t.output().shape()).isEqualTo(Shape.of(8, 10));
            g.sort();
        }
    }

    @Test
    void modulesInEvalModeEmitInferenceOpsInATrainTrace() {
        try (Module m = Zoo.create("fashionnet", 1, 28, 28, 10)) {
            m.eval();
            try (Traced t = m.trace(TraceMode.TRAIN, 8, 1, 28, 28)) {
                assertThat(ofType(t.graph(), "BatchNormTrain")).isEmpty();
                assertThat(ofType(t.graph(), "BatchNormalization")).hasSize(4);
                assertThat(ofType(t.graph(), "DropoutTrain")).isEmpty();
                assertThat(t.seed()).isNull();
                assertThat(t.graph().opsets()).doesNotContainKey(Node.TANDEM_DOMAIN);
            }
            // A frozen BN inside a training network (PyTorch's bn.eval()).
            m.train();
            ((Sequential) m.children().get("features")).get(1).eval();
            try (Traced t = m.trace(TraceMode.TRAIN, 8, 1, 28, 28)) {
                assertThat(ofType(t.graph(), "BatchNormTrain")).hasSize(3);
                assertThat(ofType(t.graph(), "BatchNormalization")).hasSize(1);
            }
        }
    }

    @Test
    void everyDropoutGetsItsOwnSeed() {
        try (Sequential m = new Sequential(new Dropout(0.1), new ReLU(), new Dropout(0.2), new Dropout(0.3));
             Traced t = m.trace(TraceMode.TRAIN, 4, 6)) {
            List<Node> drops = ofType(t.graph(), "DropoutTrain");
            assertThat(drops).hasSize(3);
            assertThat(drops.get(0).input(1).name()).isEqualTo(Tracer.SEED_INPUT);
            for (int k = 1; k < 3; k++) {
                Node add = drops.get(k).input(1).producer();
                assertThat(add.opType()).isEqualTo("Add");
                assertThat(add.input(0).name()).isEqualTo(Tracer.SEED_INPUT);
                long offset = add.input(1).constant().segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
                assertThat(offset).isEqualTo(0x9E3779B97F4A7C15L * k);
            }
            assertThat(t.graph().inputs()).extracting(Value::name).containsExactly("input", Tracer.SEED_INPUT);
        }
        try (Sequential m = new Sequential(new Dropout(0.5)); Traced t = m.trace(TraceMode.EVAL, 4, 6)) {
            assertThat(t.graph().nodes()).isEmpty();
            assertThat(t.output().value()).isSameAs(t.input().value());
        }
    }

    @Test
    void exportMakesStateInitializers() {
        try (Sequential m = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2))) {
            m.resetParameters(3);
            try (Traced t = m.trace(TraceMode.EXPORT, 1, 1, 5, 5)) {
                assertThat(t.graph().inputs()).extracting(Value::name).containsExactly("input");
                Value w = t.graph().find("0.weight");
                assertThat(w.isConstant()).isTrue();
                assertThat(w.constant().toFloatArray()).containsExactly(m.namedParameters().get("0.weight").toArray());
                assertThat(w.constant()).isNotSameAs(m.namedParameters().get("0.weight").tensor());
                assertThat(t.graph().find("1.running_var").constant().toFloatArray()).containsOnly(1f);
            }
            // Closing the export graph leaves the module intact.
            assertThat(m.namedParameters().get("0.weight").isClosed()).isFalse();
        }
    }

    @Test
    void functionalShapesAndAttributes() {
        Tracer t = new Tracer(TraceMode.EVAL);
        try (Graph g = t.graph()) {
            Var x = t.batchInput("x", DType.FLOAT32, 2, 8, 15, 15);
            Var w = t.input("w", DType.FLOAT32, 16, 4, 3, 3);
            Var y = Functional.conv2d(x, w, null, new int[]{2, 1}, new int[]{1, 0}, new int[]{1, 2}, 2);
            assertThat(y.shape()).isEqualTo(Shape.of(2, 16, 8, 11));
            Node conv = y.value().producer();
            assertThat((long[]) conv.attribute("strides").value()).containsExactly(2, 1);
            assertThat((long[]) conv.attribute("pads").value()).containsExactly(1, 0, 1, 0);
            assertThat((long[]) conv.attribute("dilations").value()).containsExactly(1, 2);
            assertThat((long[]) conv.attribute("kernel_shape").value()).containsExactly(3, 3);
            assertThat(conv.attribute("group").value()).isEqualTo(2L);
            assertThat(conv.inputs()).hasSize(2);
            assertThat(Functional.maxPool2d(y, 3, 2, 1).shape()).isEqualTo(Shape.of(2, 16, 4, 6));
            Var avg = Functional.avgPool2d(y, 2, 2, 0, true);
            assertThat(avg.shape()).isEqualTo(Shape.of(2, 16, 4, 5));
            assertThat(avg.value().producer().attribute("count_include_pad").value()).isEqualTo(1L);
            assertThat(Functional.globalAvgPool(y).shape()).isEqualTo(Shape.of(2, 16, 1, 1));
            Var f = Functional.flatten(y);
            assertThat(f.shape()).isEqualTo(Shape.of(2, 16 * 8 * 11));
            Var s = Functional.silu(f);
            assertThat(s.value().producer().opType()).isEqualTo("Mul");
            assertThat(s.value().producer().input(1).producer().opType()).isEqualTo("Sigmoid");
            Var r6 = Functional.relu6(f);
            Node clip = r6.value().producer();
            assertThat(clip.opType()).isEqualTo("Clip");
            assertThat(clip.input(1).constant().toFloatArray()).containsExactly(0f);
            assertThat(clip.input(2).constant().toFloatArray()).containsExactly(6f);
            assertThat(Functional.hardSwish(f).value().producer().opType()).isEqualTo("HardSwish");
            assertThat(Functional.tanh(f).value().producer().opType()).isEqualTo("Tanh");
            Var b = t.input("b", DType.FLOAT32, 16, 1, 1);
            assertThat(y.add(b).shape()).isEqualTo(y.shape());
            Var lw = t.input("lw", DType.FLOAT32, 5, 16 * 8 * 11);
            Var logits = Functional.linear(f, lw, null);
            assertThat(logits.shape()).isEqualTo(Shape.of(2, 5));
            assertThat(logits.value().producer().attribute("transB").value()).isEqualTo(1L);
            // Two Relu6s share the bound constants.
            assertThat(Functional.relu6(f).value().producer().input(2)).isSameAs(clip.input(2));

            assertThatThrownBy(() -> Functional.conv2d(x, w, null, 1, 1, 1, 1))
                    .hasMessageContaining("conv2d").hasMessageContaining("groups");
            assertThatThrownBy(() -> Functional.linear(y, lw, null)).hasMessageContaining("rank 2");
            assertThatThrownBy(() -> Functional.linear(logits, lw, null)).hasMessageContaining("features");
            assertThatThrownBy(() -> Functional.add(y, lw)).hasMessageContaining("Add").hasMessageContaining("broadcast");
            assertThatThrownBy(() -> Functional.maxPool2d(t.input("tiny", DType.FLOAT32, 1, 1, 2, 2), 3, 1, 0))
                    .hasMessageContaining("too small");
            assertThatThrownBy(() -> t.input("x", DType.FLOAT32, 1)).hasMessageContaining("already has a value");
            assertThatThrownBy(() -> t.batchInput("other", DType.FLOAT32, 3)).hasMessageContaining("batch");
            assertThatThrownBy(t::nextDropoutSeed).hasMessageContaining("TRAIN");
        }
    }

    @Test
    void unboundStateIsAClearError() {
        try (Linear l = new Linear(3, 2)) {
            Tracer t = new Tracer(TraceMode.EVAL);
            try (Graph g = t.graph()) {
                Var x = t.input("x", DType.FLOAT32, 1, 3);
                assertThatThrownBy(() -> l.forward(x)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("Module.trace");
            }
        }
    }

    @Test
    void attributesKeepTheirOrder() {
        try (Conv2d c = new Conv2d(1, 1, 3); Traced t = c.trace(TraceMode.EVAL, 1, 1, 4, 4)) {
            assertThat(t.graph().nodes().getFirst().attributes().keySet())
                    .containsExactly("kernel_shape", "strides", "pads", "dilations", "group");
            Attribute g = t.graph().nodes().getFirst().attribute("group");
            assertThat(g.value()).isEqualTo(1L);
        }
    }
}
