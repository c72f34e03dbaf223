package dev.tandem.runtime.classify;

import dev.tandem.runtime.MemorySize;
import dev.tandem.runtime.ModelException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A command that classifies images with nothing but the runtime jar and protobuf-java on the class path: the
 * {@code predict} script of a {@code tandem package} bundle runs it. Prints one JSON line per image, as
 * {@code tandem predict} does ({@link PredictionJson}).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp tandem-runtime.jar:protobuf-java.jar dev.tandem.runtime.classify.PredictMain \
 *      --model M.onnx [--top K] [--threads N] [--labels FILE] [--max-memory BYTES] IMAGE...
 * </pre>
 *
 * <p>Exit status: 0 when every image was classified; 2 for what the user can fix (arguments, files, models,
 * images, a memory budget too small), with one line on stderr; 1 for Tandem's own faults, with the stack trace.
 */
public final class PredictMain {
    static final String USAGE = """
            usage: predict [--top K] [--threads N] [--labels FILE] [--max-memory BYTES] IMAGE...
              Classifies images (PNG; JPEG, BMP and GIF too where the runtime has java.desktop) and prints one
              JSON line per image: {"file": ..., "top": [{"label", "index", "probability"}, ...]}.
              --top K             classes per image (default 5)
              --threads N         compute threads (default: all cores)
              --labels FILE       labels, one per line or a JSON array (default: the model's)
              --max-memory BYTES  refuse the model when its weights plus a run's arena need more (64m, 1g)
              --model M.onnx      the model (the bundle's script gives its own)""";

    private PredictMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            Arguments a = Arguments.parse(args);
            if (a == null) {
                out.println(USAGE);
                return 0;
            }
            Classifier.Options o = Classifier.Options.defaults().withTopK(a.top).withThreads(a.threads)
                    .withLabelsFile(a.labels).withMaxMemory(a.maxMemory);
            try (Classifier c = Classifier.load(a.model, o)) {
                List<List<Prediction>> results = c.classifyFiles(a.images);
                for (int i = 0; i < a.images.size(); i++) {
                    out.println(PredictionJson.line(a.images.get(i).toString(), results.get(i)));
                }
            }
            out.flush();
            return 0;
        } catch (UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE.lines().findFirst().orElseThrow());
            return 2;
        } catch (ModelException | UncheckedIOException | IllegalArgumentException e) {
            err.println("error: " + oneLine(e.getMessage() == null ? e.toString() : e.getMessage()));
            return 2;
        } catch (RuntimeException | Error e) {
            e.printStackTrace(err);
            err.println("error: " + e);
            return 1;
        }
    }

    private static String oneLine(String m) {
        return String.join("; ", m.strip().lines().map(String::strip).filter(l -> !l.isEmpty()).toList());
    }

    /** A malformed command line. */
    private static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private record Arguments(Path model, int top, int threads, Path labels, long maxMemory, List<Path> images) {
        /** The arguments, or null when help was asked for. */
        static Arguments parse(String[] args) {
            Path model = null;
            Path labels = null;
            int top = 5;
            int threads = 0;
            long maxMemory = 0;
            List<Path> images = new ArrayList<>();
            boolean options = true;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (!options || !arg.startsWith("-") || arg.equals("-")) {
                    images.add(Path.of(arg));
                    continue;
                }
                String name = arg;
                String value = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    name = arg.substring(0, eq);
                    value = arg.substring(eq + 1);
                }
                switch (name) {
                    case "-h", "--help" -> {
                        return null;
                    }
                    case "--" -> options = false;
                    case "--model", "--top", "--threads", "--labels", "--max-memory" -> {
                        if (value == null) {
                            if (i + 1 >= args.length) {
                                throw new UsageException(name + " needs a value");
                            }
                            value = args[++i];
                        }
                        switch (name) {
                            case "--model" -> {
                                if (model != null) {
                                    throw new UsageException("--model given twice");
                                }
                                model = Path.of(value);
                            }
                            case "--labels" -> labels = Path.of(value);
                            case "--top" -> top = positive(name, value);
                            case "--threads" -> threads = positive(name, value);
                            default -> {
                                try {
                                    maxMemory = MemorySize.parse(value);
                                } catch (IllegalArgumentException e) {
                                    throw new UsageException("--max-memory: " + e.getMessage());
                                }
                            }
                        }
                    }
                    default -> throw new UsageException("unknown option '" + arg + "'");
                }
            }
            if (model == null) {
                throw new UsageException("give the model: --model M.onnx");
            }
            if (images.isEmpty()) {
                throw new UsageException("give at least one image file");
            }
            return new Arguments(model, top, threads, labels, maxMemory, List.copyOf(images));
        }

        private static int positive(String name, String value) {
            try {
                int v = Integer.parseInt(value.strip());
                if (v >= 1) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException(name + " must be a whole number >= 1; got '" + value + "'");
        }
    }
}
