package dev.tandem.cli;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.Conformance;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem conformance}: runs ONNX backend test cases and reports each as pass, FAIL or unsupported. */
@Command(
        name = "conformance",
        mixinStandardHelpOptions = true,
        description = {"Run ONNX backend test cases (folders of model.onnx + test_data_set_N/), e.g.",
            "/usr/share/libonnx-testdata/data/node. Prints pass / FAIL (max error) / unsupported (why) per case",
            "and 'N passed, N failed, N unsupported'; exit code 1 when any case failed."})
public final class ConformanceCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "A case folder or a folder of case folders.")
    Path dir;

    @Option(names = "--filter", paramLabel = "REGEX", description = "Only cases whose folder name contains a match.")
    String filter;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--quiet", description = "Print only failures and the closing line.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        if (threads < 1) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        Pattern p;
        try {
            p = filter == null ? null : Pattern.compile(filter);
        } catch (PatternSyntaxException e) {
            throw new ParameterException(spec.commandLine(), "--filter: " + e.getDescription() + " in '" + filter + "'");
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("Not a folder: " + dir);
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Path> cases = Conformance.cases(dir);
        int[] counts = new int[3];
        try (ThreadPool pool = new ThreadPool(threads)) {
            for (Path c : cases) {
                if (p != null && !p.matcher(c.getFileName().toString()).find()) {
                    continue;
                }
                Conformance.Result r = Conformance.run(c, pool);
                counts[r.status().ordinal()]++;
                if (!quiet || r.status() == Conformance.Status.FAIL) {
                    out.println(r);
                    out.flush();
                }
            }
        }
        out.println(counts[0] + " passed, " + counts[1] + " failed, " + counts[2] + " unsupported");
        out.flush();
        return counts[1] > 0 ? 1 : 0;
    }
}
