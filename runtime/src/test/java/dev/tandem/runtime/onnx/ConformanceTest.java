package dev.tandem.runtime.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every ONNX backend test case Debian's {@code libonnx-testdata} installs (node, pytorch-converted,
 * pytorch-operator, simple): each must pass or be reported unsupported, never FAIL, except the cases in
 * {@link #KNOWN_FAILURES}, each with its reason. Skipped when the test data is not installed. Prints the totals.
 */
class ConformanceTest {
    static final Path ROOT = Path.of("/usr/share/libonnx-testdata/data");
    static final List<String> SUITES = List.of("node", "pytorch-converted", "pytorch-operator", "simple");

    /** Case name → why it fails today. Keep empty: fix rather than add. */
    static final Map<String, String> KNOWN_FAILURES = Map.of();

    private static ThreadPool pool;
    private static final int[] COUNTS = new int[3];

    @BeforeAll
    static void start() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void finish() {
        if (pool != null) {
            pool.close();
        }
        System.out.println("ONNX conformance: " + COUNTS[0] + " passed, " + COUNTS[1] + " failed, " + COUNTS[2]
                + " unsupported");
    }

    @TestFactory
    Stream<DynamicTest> everyCaseIsPassOrUnsupported() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(ROOT), "libonnx-testdata is not installed at " + ROOT);
        List<DynamicTest> tests = new ArrayList<>();
        for (String suite : SUITES) {
            Path dir = ROOT.resolve(suite);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            for (Path c : Conformance.cases(dir)) {
                String name = c.getFileName().toString();
                tests.add(DynamicTest.dynamicTest(suite + "/" + name, () -> {
                    Conformance.Result r = Conformance.run(c, pool);
                    synchronized (COUNTS) {
                        COUNTS[r.status().ordinal()]++;
                    }
                    if (KNOWN_FAILURES.containsKey(name)) {
                        Assumptions.assumeTrue(r.status() != Conformance.Status.FAIL,
                                "known failure: " + KNOWN_FAILURES.get(name));
                    }
                    assertThat(r.status()).as("%s", r).isNotEqualTo(Conformance.Status.FAIL);
                }));
            }
        }
        return tests.stream();
    }
}
