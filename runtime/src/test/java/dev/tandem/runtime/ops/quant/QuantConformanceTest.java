package dev.tandem.runtime.ops.quant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.Conformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ONNX backend test cases of the quantization ops (Debian's libonnx-testdata): every case must pass or be reported
 * unsupported (never a wrong answer), and the cases in {@link #MUST_PASS} must pass. Skipped when the test data is
 * not installed.
 */
class QuantConformanceTest {
    static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");

    /** The node/ cases of this package's ops. */
    static final Pattern NODE_CASES = Pattern.compile("test_(quantizelinear|dequantizelinear|qlinearconv"
            + "|qlinearmatmul|matmulinteger|convinteger|basic_convinteger|dynamicquantizelinear)([_0-9].*)?");

    /** Cases that pass today: node/ names. */
    static final Set<String> MUST_PASS = Arrays.stream("""
            test_basic_convinteger test_convinteger_with_padding test_convinteger_without_padding
            test_dequantizelinear test_dequantizelinear_axis test_dynamicquantizelinear
            test_dynamicquantizelinear_expanded test_dynamicquantizelinear_max_adjusted
            test_dynamicquantizelinear_max_adjusted_expanded test_dynamicquantizelinear_min_adjusted
            test_dynamicquantizelinear_min_adjusted_expanded test_matmulinteger test_qlinearconv
            test_qlinearmatmul_2D test_qlinearmatmul_3D test_quantizelinear test_quantizelinear_axis
            """.split("\\s+")).filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));

    static ThreadPool pool;

    @BeforeAll
    static void openPool() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void closePool() {
        pool.close();
    }

    static List<Path> cases() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(DATA.resolve("node"))) {
            return List.of(DATA); // one invocation, skipped by its assumption
        }
        for (Path p : Conformance.cases(DATA.resolve("node"))) {
            String n = p.getFileName().toString();
            if (NODE_CASES.matcher(n).matches()) {
                out.add(p);
            }
        }
        for (String m : MUST_PASS) {
            if (m.contains("/")) {
                out.add(DATA.resolve(m));
            }
        }
        return out;
    }

    private static String key(Path caseDir) {
        String suite = caseDir.getParent().getFileName().toString();
        String n = caseDir.getFileName().toString();
        return suite.equals("node") ? n : suite + "/" + n;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void passesOrIsUnsupported(Path caseDir) {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("node")), "libonnx-testdata not installed");
        Conformance.Result r = Conformance.run(caseDir, pool);
        assertThat(r.status()).as(r.toString()).isNotEqualTo(Conformance.Status.FAIL);
        if (MUST_PASS.contains(key(caseDir))) {
            assertThat(r.status()).as(r.toString()).isEqualTo(Conformance.Status.PASS);
        }
    }

    @Test
    void everyMustPassCaseExists() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("node")), "libonnx-testdata not installed");
        Set<String> found = cases().stream().map(QuantConformanceTest::key).collect(Collectors.toSet());
        assertThat(found).containsAll(MUST_PASS);
    }
}
