package dev.tandem.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Deep comparison of two graphs, as a writer must preserve them: structure, types, attributes, constant bytes. */
final class GraphAssert {
    private GraphAssert() {
    }

    static void assertSameGraph(Graph expected, Graph actual) {
        assertThat(List.copyOf(actual.opsets().entrySet())).as("opsets")
                .isEqualTo(List.copyOf(expected.opsets().entrySet()));
        assertThat(List.copyOf(actual.metadata().entrySet())).as("metadata")
                .isEqualTo(List.copyOf(expected.metadata().entrySet()));
        if (expected.producerName().isEmpty()) {
            // A graph that names no producer is written as Tandem's.
            assertThat(actual.producerName()).as("producer name").isEqualTo(OnnxWriter.PRODUCER);
        } else {
            assertThat(actual.producerName()).as("producer name").isEqualTo(expected.producerName());
            assertThat(actual.producerVersion()).as("producer version").isEqualTo(expected.producerVersion());
        }
        assertThat(actual.docString()).as("doc string").isEqualTo(expected.docString());
        assertThat(names(actual.inputs())).as("inputs").isEqualTo(names(expected.inputs()));
        assertThat(names(actual.outputs())).as("outputs").isEqualTo(names(expected.outputs()));
        for (int i = 0; i < expected.inputs().size(); i++) {
            assertThat(actual.inputs().get(i).declared()).as("type of input %s", expected.inputs().get(i))
                    .isEqualTo(expected.inputs().get(i).declared());
        }
        for (int i = 0; i < expected.outputs().size(); i++) {
            assertThat(actual.outputs().get(i).declared()).as("type of output %s", expected.outputs().get(i))
                    .isEqualTo(expected.outputs().get(i).declared());
        }
        assertThat(actual.nodes()).as("node count").hasSameSizeAs(expected.nodes());
        for (int i = 0; i < expected.nodes().size(); i++) {
            Node e = expected.nodes().get(i);
            Node a = actual.nodes().get(i);
            assertThat(a.describe()).isEqualTo(e.describe());
            assertThat(names(a.inputs())).as("inputs of %s", e).isEqualTo(names(e.inputs()));
            assertThat(names(a.outputs())).as("outputs of %s", e).isEqualTo(names(e.outputs()));
            assertThat(a.attributes().keySet()).as("attributes of %s", e)
                    .containsExactlyElementsOf(e.attributes().keySet());
            for (Map.Entry<String, Attribute> at : e.attributes().entrySet()) {
                assertSameAttribute(at.getValue(), a.attribute(at.getKey()), e);
            }
            for (int k = 0; k < e.inputs().size(); k++) {
                Value ev = e.inputs().get(k);
                if (ev != null && ev.isConstant()) {
                    assertThat(a.inputs().get(k).isConstant()).as("%s is a constant", ev).isTrue();
                    assertSameTensor(ev.constant(), a.inputs().get(k).constant(), ev.name());
                }
            }
        }
    }

    static void assertSameAttribute(Attribute e, Attribute a, Node n) {
        assertThat(a.kind()).as("kind of %s of %s", e.name(), n).isEqualTo(e.kind());
        if (e.value() instanceof Tensor t) {
            assertSameTensor(t, (Tensor) a.value(), e.name() + " of " + n);
        } else {
            // Arrays compare by content; boxed floats by bits, so NaN equals NaN.
            assertThat(a.value()).as("value of %s of %s", e.name(), n).isEqualTo(e.value());
        }
    }

    /** Same type, shape and bytes. */
    static void assertSameTensor(Tensor e, Tensor a, String what) {
        assertThat(a.dtype()).as("dtype of %s", what).isEqualTo(e.dtype());
        assertThat(a.shape()).as("shape of %s", what).isEqualTo(e.shape());
        assertThat(bytes(a)).as("bytes of %s", what).isEqualTo(bytes(e));
    }

    static byte[] bytes(Tensor t) {
        return TensorCodec.encode("", t).getRawData().toByteArray();
    }

    private static List<String> names(List<Value> values) {
        List<String> out = new ArrayList<>();
        for (Value v : values) {
            out.add(v == null ? "" : v.name());
        }
        return out;
    }
}
