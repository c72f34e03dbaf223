package dev.tandem.runtime.onnx;

import static dev.tandem.runtime.onnx.GraphAssert.assertSameGraph;
import static dev.tandem.runtime.onnx.GraphAssert.assertSameTensor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.io.Npy;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real round trips through {@link OnnxWriter}: every ONNX node test case read, written, read again (same graph,
 * same bytes when written twice) and, where the runtime supports it, run on the case's test data with exactly the
 * original model's result; and a torchvision model when one is present.
 */
class OnnxWriterRoundTripTest {
    static final Path NODE_CASES = ConformanceTest.ROOT.resolve("node");

    private static ThreadPool pool;
    /** written, ran the same, refused by the reader, refused by the writer */
    private static final int[] COUNTS = new int[4];

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void finish() {
        if (pool != null) {
            pool.close();
        }
        System.out.println("ONNX write round trips: " + COUNTS[0] + " written and read back, " + COUNTS[1]
                + " of them run with the original's results, " + COUNTS[2] + " refused by the reader, " + COUNTS[3]
                + " refused by the writer (subgraphs or non-tensor values)");
    }

    private static synchronized void count(int i) {
        COUNTS[i]++;
    }

    @TestFactory
    Stream<DynamicTest> everyNodeCaseSurvivesAWriteAndRunsTheSame() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(NODE_CASES), "libonnx-testdata is not installed at " + NODE_CASES);
        List<DynamicTest> tests = new ArrayList<>();
        for (Path c : Conformance.cases(NODE_CASES)) {
            tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> roundTrip(c)));
        }
        return tests.stream();
    }

    private static void roundTrip(Path caseDir) throws Exception {
        Path file = caseDir.resolve("model.onnx");
        Graph original;
        try {
            original = OnnxReader.read(file);
        } catch (ModelException e) {
            count(2);
            Assumptions.abort("the reader refuses it: " + e.getMessage());
            return;
        }
        byte[] written;
        try (original) {
            try {
                written = OnnxWriter.toBytes(original);
            } catch (UnsupportedModelException e) {
                // Only what the graph keeps by name alone may be refused.
                assertThat(e).hasMessageContaining("cannot be written");
                count(3);
                Assumptions.abort("the writer refuses it: " + e.getMessage());
                return;
            }
            try (Graph again = OnnxReader.read(written, caseDir)) {
                assertSameGraph(original, again);
                assertThat(OnnxWriter.toBytes(again)).as("written twice").isEqualTo(written);
            }
        }
        assertSameAsFile(OnnxReader.parse(Files.readAllBytes(file)), OnnxReader.parse(written));
        count(0);

        Path rewritten = dir.resolve("model.onnx");
        try (Graph g = OnnxReader.read(file)) {
            OnnxWriter.write(g, rewritten);
        }
        Conformance.Result before = Conformance.run(caseDir, pool);
        Conformance.Result after = Conformance.run(caseDir, rewritten, pool);
        assertThat(after.status()).as("%s, after writing: %s", before, after).isEqualTo(before.status());
        if (before.status() == Conformance.Status.PASS) {
            // The same graph runs the same kernels: the same largest error, to the bit.
            assertThat(after.maxError()).as("%s, after writing: %s", before, after).isEqualTo(before.maxError());
            count(1);
        }
    }

    /** What the file says and the written model must too, in protobuf terms. */
    private static void assertSameAsFile(ModelProto file, ModelProto written) {
        Set<String> initializers = new HashSet<>();
        for (TensorProto t : file.getGraph().getInitializerList()) {
            initializers.add(t.getName());
        }
        List<String> inputs = file.getGraph().getInputList().stream().map(ValueInfoProto::getName)
                .filter(n -> !initializers.contains(n)).toList();
        assertThat(written.getGraph().getInputList()).extracting(ValueInfoProto::getName).isEqualTo(inputs);
        assertThat(written.getGraph().getOutputList()).extracting(ValueInfoProto::getName)
                .isEqualTo(file.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList());
        assertThat(written.getGraph().getInitializerList()).extracting(TensorProto::getName)
                .allMatch(initializers::contains);
        assertThat(written.getGraph().getInitializerList()).allMatch(TensorProto::hasRawData);
        // Node order may differ (the reader sorts); the nodes, their wiring and empty optional outputs may not.
        assertThat(nodes(written)).containsExactlyInAnyOrderElementsOf(nodes(file));
        assertThat(written.getMetadataPropsList()).isEqualTo(file.getMetadataPropsList());
        assertThat(written.getIrVersion()).isGreaterThanOrEqualTo(Math.max(8, file.getIrVersion()));
    }

    private static List<String> nodes(ModelProto m) {
        List<String> out = new ArrayList<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            String domain = n.getDomain().equals("ai.onnx") ? "" : n.getDomain();
            out.add(domain + ":" + n.getOpType() + n.getInputList() + "->" + n.getOutputList() + " attributes "
                    + n.getAttributeList().stream().map(a -> a.getName()).toList());
        }
        return out;
    }

    /**
     * A torchvision model (git-ignored, fetched for benchmarks into the repository's {@code models/} folder, or
     * the folder named by the system property {@code tandem.models}) read, written and run: the same outputs to
     * the bit. Skipped, saying so, when absent.
     */
    @Test
    void torchvisionModelRoundTripsWhenPresent() throws Exception {
        Path models = Path.of(System.getProperty("tandem.models", "../models"));
        Path file = models.resolve("squeezenet1_1.onnx");
        Path input = models.resolve("squeezenet1_1.input.npy");
        Assumptions.assumeTrue(Files.isRegularFile(file) && Files.isRegularFile(input),
                "no torchvision model at " + file.toAbsolutePath() + " (set -Dtandem.models=DIR)");
        Path rewritten = dir.resolve("squeezenet1_1.onnx");
        try (Graph g = OnnxReader.read(file)) {
            OnnxWriter.write(g, rewritten);
            try (Graph again = OnnxReader.read(rewritten)) {
                assertSameGraph(g, again);
            }
        }
        Model.Options o = Model.Options.defaults().withPool(pool);
        try (Model a = Model.load(file, o); Model b = Model.load(rewritten, o); Tensor x = Npy.read(input)) {
            String name = a.inputs().getFirst().name();
            Map<String, Tensor> ya = a.run(Map.of(name, x));
            Map<String, Tensor> yb = b.run(Map.of(name, x));
            try {
                assertThat(yb.keySet()).isEqualTo(ya.keySet());
                for (String k : ya.keySet()) {
                    assertSameTensor(ya.get(k), yb.get(k), k);
                }
            } finally {
                ya.values().forEach(Tensor::close);
                yb.values().forEach(Tensor::close);
            }
        }
    }
}
