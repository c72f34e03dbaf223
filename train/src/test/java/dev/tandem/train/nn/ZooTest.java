package dev.tandem.train.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Every zoo architecture traces to a standard ONNX graph that plans and runs with the runtime. */
class ZooTest {
    private static final Set<String> EVAL_OPS = Set.of("Conv", "BatchNormalization", "Relu", "Clip", "MaxPool",
            "GlobalAveragePool", "Flatten", "Gemm", "Add");

    @ParameterizedTest
    @CsvSource({
        "fashionnet, 1, 28, 28, 10", "fashionnet, 3, 32, 32, 7", "fashionnet, 2, 9, 13, 3",
        "resnet8, 1, 28, 28, 10", "resnet8, 3, 32, 32, 7", "resnet8, 3, 7, 11, 2",
        "resnet20, 3, 32, 32, 10", "resnet20, 1, 12, 12, 4", "resnet18, 3, 32, 32, 10",
        "mobilenet, 1, 28, 28, 10", "mobilenet, 3, 32, 32, 100", "mobilenet, 3, 64, 64, 5"})
    void evalGraphPlansAndRuns(String arch, int c, int h, int w, int classes) {
        int n = 2;
        try (Module m = Zoo.create(arch, c, h, w, classes)) {
            m.resetParameters(1);
            float[] x = Plans.random(new Random(2), Plans.size(n, c, h, w));
            float[] y;
            try (Traced t = m.trace(TraceMode.EVAL, n, c, h, w)) {
                assertThat(t.output().shape()).isEqualTo(Shape.of(n, classes));
                for (Node node : t.graph().nodes()) {
                    assertThat(node.domain()).isEmpty();
                    assertThat(EVAL_OPS).contains(node.opType());
                }
                assertThat(t.graph().opsets()).isEqualTo(Map.of("", 17));
                try (Tensor in = Tensor.ofFloats(Shape.of(n, c, h, w), x)) {
                    y = Plans.run(t, Map.of("input", in));
                }
            }
            assertThat(y).hasSize(n * classes);
            for (float v : y) {
                assertThat(v).isFinite();
            }
            // The exported graph (state as initializers), optimized by the runtime at load, computes the same.
            try (Traced e = m.trace(TraceMode.EXPORT, n, c, h, w)) {
                assertThat(e.graph().inputs()).extracting(v -> v.name()).containsExactly("input");
                try (Model model = Model.fromGraph(e.graph(), Model.Options.defaults().withThreads(1));
                     Tensor in = Tensor.ofFloats(Shape.of(n, c, h, w), x);
                     Tensor out = model.run(in)) {
                    assertThat(out.shape()).isEqualTo(Shape.of(n, classes));
                    float[] z = out.toFloatArray();
                    for (int i = 0; i < z.length; i++) {
                        assertThat(z[i]).isCloseTo(y[i], org.assertj.core.data.Offset.offset(1e-3f * (1 + Math.abs(y[i]))));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"fashionnet, 1, 28, 28", "resnet8, 3, 32, 32", "resnet20, 3, 32, 32", "mobilenet, 3, 32, 32"})
    void trainGraphUsesTheTrainingOps(String arch, int c, int h, int w) {
        try (Module m = Zoo.create(arch, c, h, w, 10); Traced t = m.trace(TraceMode.TRAIN, 16, c, h, w)) {
            long bns = m.namedModules().values().stream().filter(x -> x instanceof BatchNorm2d).count();
            long dropouts = m.namedModules().values().stream().filter(x -> x instanceof Dropout).count();
            List<Node> nodes = t.graph().nodes();
            assertThat(nodes.stream().filter(n -> n.opType().equals("BatchNormTrain"))).hasSize((int) bns);
            assertThat(nodes.stream().filter(n -> n.opType().equals("DropoutTrain"))).hasSize((int) dropouts);
            assertThat(nodes.stream().filter(n -> n.opType().equals("BatchNormalization"))).isEmpty();
            for (Node n : nodes) {
                if (!n.domain().isEmpty()) {
                    assertThat(n.domain()).isEqualTo(Node.TANDEM_DOMAIN);
                    assertThat(n.opType()).isIn("BatchNormTrain", "DropoutTrain");
                }
            }
            assertThat(t.seed() != null).isEqualTo(dropouts > 0);
            assertThat(t.graph().inputs()).hasSize(1 + t.parameters().size() + t.buffers().size()
                    + (dropouts > 0 ? 1 : 0));
            assertThat(t.output().shape()).isEqualTo(Shape.of(16, 10));
            t.graph().sort();
        }
    }

    @Test
    void fashionNetIsTheBenchmarkNetwork() {
        try (Module m = Zoo.create("fashionnet", 1, 28, 28, 10)) {
            long conv = 288 + 9216 + 18432 + 36864;
            long bn = 2 * (32 + 32 + 64 + 64);
            long linear = 3136 * 128 + 128 + 128 * 10 + 10;
            assertThat(m.parameterCount()).isEqualTo(conv + bn + linear);
            Map<String, Parameter> p = m.namedParameters();
            assertThat(p.keySet()).startsWith("features.0.weight", "features.1.weight", "features.1.bias",
                    "features.3.weight");
            assertThat(p.get("features.0.weight").shape()).isEqualTo(Shape.of(32, 1, 3, 3));
            assertThat(p).doesNotContainKey("features.0.bias");
            assertThat(p.get("classifier.1.weight").shape()).isEqualTo(Shape.of(128, 3136));
            assertThat(p.get("classifier.3.weight").shape()).isEqualTo(Shape.of(10, 128));
            assertThat(m.namedBuffers().keySet()).contains("features.1.running_mean", "features.11.running_var");
            assertThat(m.namedBuffers()).hasSize(8);
            try (Traced t = m.trace(TraceMode.EVAL, 4, 1, 28, 28)) {
                List<String> ops = t.graph().nodes().stream().map(Node::opType).toList();
                assertThat(ops).containsExactly("Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization",
                        "Relu", "MaxPool", "Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Relu",
                        "MaxPool", "Flatten", "Gemm", "Relu", "Gemm");
            }
        }
        try (Module m = Zoo.create("fashionnet", 3, 32, 32, 10)) {
            assertThat(m.namedParameters().get("classifier.1.weight").shape()).isEqualTo(Shape.of(128, 64 * 8 * 8));
        }
    }

    @Test
    void resNetsHaveTheCifarLayout() {
        try (Module r8 = Zoo.create("resnet8", 3, 32, 32, 10); Module r20 = Zoo.create("RESNET20", 3, 32, 32, 10)) {
            // conv1 432 + bn 32; stage 1: 2 convs 2304 each; stage 2: 4608 + 9216 + 512 projection; stage 3:
            // 18432 + 36864 + 2048; BNs; fc 650.
            assertThat(r8.parameterCount()).isEqualTo(78_042);
            assertThat(r20.parameterCount()).isEqualTo(272_474);
            assertThat(r8.namedParameters()).containsKeys("conv1.weight", "layer2.0.shortcut.0.weight",
                    "layer3.0.shortcut.1.bias", "fc.weight");
            assertThat(r8.namedParameters()).doesNotContainKey("layer1.0.shortcut.0.weight");
            long blocks = r20.namedModules().values().stream().filter(x -> x instanceof BasicBlock).count();
            assertThat(blocks).isEqualTo(9);
        }
    }

    @Test
    void resNet18HasTorchvisionsLayout() {
        try (Module r18 = Zoo.create("resnet18", 3, 32, 32, 10)) {
            // torchvision.models.resnet18(num_classes=10) has 11,181,642 parameters.
            assertThat(r18.parameterCount()).isEqualTo(11_181_642);
            assertThat(r18.namedParameters().get("conv1.weight").shape()).isEqualTo(Shape.of(64, 3, 7, 7));
            assertThat(r18.namedParameters()).containsKeys("layer4.1.conv2.weight", "layer2.0.shortcut.0.weight",
                    "fc.weight");
            assertThat(r18.outputShape(2, 3, 32, 32)).isEqualTo(Shape.of(2, 10));
        }
    }

    @Test
    void mobileNetHasResidualBlocks() {
        try (Module m = Zoo.create("mobilenet", 3, 32, 32, 10)) {
            List<InvertedResidual> blocks = m.namedModules().values().stream()
                    .filter(x -> x instanceof InvertedResidual).map(x -> (InvertedResidual) x).toList();
            assertThat(blocks).hasSize(8);
            assertThat(blocks.stream().filter(InvertedResidual::residual).count()).isEqualTo(3);
            Set<String> ops;
            try (Traced t = m.trace(TraceMode.EVAL, 1, 3, 32, 32)) {
                ops = t.graph().nodes().stream().map(Node::opType).collect(Collectors.toSet());
            }
            assertThat(ops).contains("Clip", "Add", "GlobalAveragePool");
            // Depthwise convolutions: weight [C, 1, 3, 3].
            assertThat(m.namedParameters().get("features.1.conv.0.0.weight").shape()).isEqualTo(Shape.of(32, 1, 3, 3));
        }
    }

    @Test
    void unknownArchitectureListsTheKnownOnes() {
        assertThatThrownBy(() -> Zoo.create("vgg16", 3, 32, 32, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'vgg16'").hasMessageContaining("fashionnet, mobilenet, resnet18, resnet20, resnet8");
        assertThatThrownBy(() -> Zoo.create("fashionnet", 1, 3, 28, 10)).hasMessageContaining("at least 4x4");
        assertThatThrownBy(() -> Zoo.create("resnet8", 0, 32, 32, 10)).hasMessageContaining(">= 1");
    }
}
