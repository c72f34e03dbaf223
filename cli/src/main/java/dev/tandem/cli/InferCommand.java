package dev.tandem.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.io.Npy;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem infer}: runs a model once on {@code .npy} inputs and writes each output as {@code .npy}. */
@Command(
        name = "infer",
        mixinStandardHelpOptions = true,
        description = "Run a model on .npy inputs; write each output to DIR/<output name>.npy.")
public final class InferCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "NAME=FILE.npy",
            description = "An input by name (repeat for each input); FILE.npy alone for a single-input model.")
    List<String> inputs;

    @Option(names = "--output-dir", required = true, paramLabel = "DIR", description = "Where outputs are written (created if needed).")
    Path outputDir;

    @Option(names = "--threads", description = "Compute threads (default: all cores).")
    int threads;

    @Override
    public Integer call() throws IOException {
        if (threads < 0) {
            throw new ParameterException(spec.commandLine(), "--threads must be >= 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Tensor> feed = new LinkedHashMap<>();
        try (Model m = Model.load(model, Model.Options.defaults().withThreads(threads))) {
            for (String in : inputs) {
                int eq = in.indexOf('=');
                String name;
                Path file;
                if (eq < 0) {
                    if (m.inputs().size() != 1) {
                        throw new ParameterException(spec.commandLine(), "--input " + in + ": the model has "
                                + m.inputs().size() + " inputs " + m.inputs() + "; give NAME=FILE.npy");
                    }
                    name = m.inputs().getFirst().name();
                    file = Path.of(in);
                } else {
                    name = in.substring(0, eq);
                    file = Path.of(in.substring(eq + 1));
                }
                if (feed.containsKey(name)) {
                    throw new ParameterException(spec.commandLine(), "input '" + name + "' is given twice");
                }
                feed.put(name, Npy.read(file));
            }
            Map<String, Tensor> result = m.run(feed);
            try {
                Files.createDirectories(outputDir);
                Set<String> used = new HashSet<>();
                int i = 0;
                for (Map.Entry<String, Tensor> e : result.entrySet()) {
                    String base = fileName(e.getKey(), i++);
                    String unique = base;
                    for (int k = 1; !used.add(unique.toLowerCase(java.util.Locale.ROOT)); k++) {
                        unique = base + "_" + k;
                    }
                    Path f = outputDir.resolve(unique + ".npy");
                    Npy.write(f, e.getValue());
                    out.println(e.getKey() + ": " + Npy.numpyName(e.getValue().dtype()) + e.getValue().shape()
                            + " -> " + f);
                }
            } finally {
                result.values().forEach(Tensor::close);
            }
        } finally {
            feed.values().forEach(Tensor::close);
        }
        out.flush();
        return 0;
    }

    /** A safe file name for an output: letters, digits, '.', '-', '_' kept, anything else '_'. */
    static String fileName(String outputName, int index) {
        String s = outputName.replaceAll("[^A-Za-z0-9._-]", "_");
        if (s.isEmpty() || s.chars().allMatch(c -> c == '.')) {
            return "output_" + index;
        }
        if (s.startsWith(".")) {
            s = "_" + s.substring(1);
        }
        return s.length() > 200 ? s.substring(0, 200) : s;
    }
}
