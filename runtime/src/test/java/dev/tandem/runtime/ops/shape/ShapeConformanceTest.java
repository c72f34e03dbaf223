package dev.tandem.runtime.ops.shape;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.Conformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** ONNX backend conformance cases of the shape ops: each passes or is reported unsupported, never wrong. */
class ShapeConformanceTest {
    private static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");
    private static final Pattern NODE_CASES = Pattern.compile("test_(flatten|reshape|squeeze|unsqueeze|identity"
            + "|dropout|transpose|concat|split|slice|gather|shape|constant|constantofshape|expand|tile|range)"
            + ".*");
    private static final Set<String> PYTORCH_CASES = Set.of("test_operator_chunk", "test_operator_concat2",
            "test_operator_flatten", "test_operator_index", "test_operator_permute2", "test_operator_repeat",
            "test_operator_repeat_dim_overflow", "test_operator_view", "test_Embedding", "test_Embedding_sparse",
            "test_PixelShuffle", "test_expand_shape_model1", "test_expand_shape_model2",
            "test_expand_shape_model3", "test_expand_shape_model4");
    /** Cases whose inputs are sequences/optionals, which the runner cannot read (not an op question). */
    private static final Set<String> NOT_TENSORS = Set.of("test_identity_opt", "test_identity_sequence");
    /** Cases that are unsupported for a reason stated in the op (run-time sizes, other ops). */
    private static final Set<String> MAY_BE_UNSUPPORTED = Set.of("test_constant_pad",
            "test_range_float_type_positive_delta", "test_range_float_type_positive_delta_expanded",
            "test_range_int32_type_negative_delta_expanded", "test_gathernd_example_float32",
            "test_gathernd_example_int32", "test_gathernd_example_int32_batch_dim1");

    private static ThreadPool pool;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static List<Path> cases() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(DATA)) {
            return List.of(Path.of("missing"));
        }
        for (String suite : List.of("node", "pytorch-operator", "pytorch-converted", "simple")) {
            Path dir = DATA.resolve(suite);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> {
                    String n = p.getFileName().toString();
                    return suite.equals("node") ? NODE_CASES.matcher(n).matches() && !NOT_TENSORS.contains(n)
                            : PYTORCH_CASES.contains(n);
                }).sorted().forEach(out::add);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void passesOrIsUnsupported(Path caseDir) {
        Assumptions.assumeTrue(Files.isRegularFile(caseDir.resolve("model.onnx")), "test data not installed");
        String name = caseDir.getFileName().toString();
        Conformance.Result r = Conformance.run(caseDir, pool);
        if (MAY_BE_UNSUPPORTED.contains(name)) {
            assertThat(r.status()).as(r.toString()).isIn(Conformance.Status.PASS, Conformance.Status.UNSUPPORTED);
        } else {
            assertThat(r.status()).as(r.toString()).isEqualTo(Conformance.Status.PASS);
        }
    }
}
