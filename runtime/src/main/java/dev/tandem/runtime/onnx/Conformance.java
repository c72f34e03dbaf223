package dev.tandem.runtime.onnx;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs ONNX backend test cases: folders holding {@code model.onnx} and {@code test_data_set_N/} folders of
 * {@code input_K.pb} and {@code output_K.pb} tensors (the layout of onnx/onnx's backend test data, installed by
 * Debian's {@code libonnx-testdata}). Each case passes, fails (with the largest error) or is unsupported (with
 * why) — an unsupported feature is never reported as a wrong answer.
 */
public final class Conformance {
    /** The suite's default tolerances. */
    public static final double RTOL = 1e-3;
    public static final double ATOL = 1e-7;

    public enum Status { PASS, FAIL, UNSUPPORTED }

    /** One case's outcome; {@code maxError} is the largest |actual - expected| seen (NaN when not compared). */
    public record Result(String name, Status status, double maxError, String detail) {
        @Override
        public String toString() {
            return switch (status) {
                case PASS -> "pass " + name + " (max error " + String.format("%.3g", maxError) + ")";
                case FAIL -> "FAIL " + name + ": " + detail;
                case UNSUPPORTED -> "unsupported " + name + ": " + detail;
            };
        }
    }

    private Conformance() {
    }

    /** The case folders under {@code dir}: itself when it holds a model.onnx, else its sub-folders that do. */
    public static List<Path> cases(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("model.onnx"))) {
            return List.of(dir);
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir, 3)) {
            s.filter(p -> p.getFileName().toString().equals("model.onnx")).map(Path::getParent).sorted()
                    .forEach(out::add);
        }
        return out;
    }

    /** Runs one case folder on {@code pool}. Never throws for a bad case: the result says what went wrong. */
    public static Result run(Path caseDir, ThreadPool pool) {
        return run(caseDir, caseDir.resolve("model.onnx"), pool);
    }

    /**
     * Runs the test data sets of {@code caseDir} on another model file, e.g. the case's model written again:
     * {@code modelFile} must take the same inputs and give the same outputs as the case's model.
     */
    public static Result run(Path caseDir, Path modelFile, ThreadPool pool) {
        String name = caseDir.getFileName().toString();
        Model model;
        try {
            model = Model.load(modelFile, Model.Options.defaults().withPool(pool));
        } catch (UnsupportedModelException e) {
            return new Result(name, Status.UNSUPPORTED, Double.NaN, firstLine(e));
        } catch (ModelException e) {
            return new Result(name, Status.FAIL, Double.NaN, "load: " + e.getMessage());
        }
        try (model) {
            List<Path> sets;
            try (Stream<Path> s = Files.list(caseDir)) {
                sets = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList();
            }
            if (sets.isEmpty()) {
                return new Result(name, Status.FAIL, Double.NaN, "no test_data_set_* folder");
            }
            double worst = 0;
            for (Path set : sets) {
                double e = runSet(model, set);
                if (e < 0) {
                    return new Result(name, Status.FAIL, -e, set.getFileName() + ": outputs differ, max error "
                            + String.format("%.4g", -e) + " beyond rtol " + RTOL + ", atol " + ATOL);
                }
                worst = Math.max(worst, e);
            }
            return new Result(name, Status.PASS, worst, "");
        } catch (UnsupportedModelException e) {
            return new Result(name, Status.UNSUPPORTED, Double.NaN, firstLine(e));
        } catch (Mismatch e) {
            return new Result(name, Status.FAIL, Double.NaN, e.getMessage());
        } catch (IOException | RuntimeException e) {
            return new Result(name, Status.FAIL, Double.NaN, e.toString());
        }
    }

    private static String firstLine(Exception e) {
        String m = e instanceof UnsupportedModelException u && !u.problems().isEmpty() ? u.problems().getFirst()
                : e.getMessage();
        return m == null ? e.toString() : m;
    }

    /** A structural mismatch (shape, type, count) between actual and expected outputs. */
    private static final class Mismatch extends RuntimeException {
        Mismatch(String m) {
            super(m);
        }
    }

    /** Returns the max error (>= 0) when all outputs match, or minus the max error when they do not. */
    private static double runSet(Model model, Path set) throws IOException {
        List<Tensor> inputs = readAll(set, "input_");
        List<Tensor> expected = readAll(set, "output_");
        Map<String, Tensor> feed = new LinkedHashMap<>();
        Map<String, Tensor> actual = Map.of();
        try {
            List<Model.IoInfo> ins = model.inputs();
            if (inputs.size() < ins.size()) {
                throw new Mismatch(set.getFileName() + " has " + inputs.size() + " inputs; the model takes "
                        + ins.size());
            }
            for (int i = 0; i < ins.size(); i++) {
                feed.put(ins.get(i).name(), inputs.get(i));
            }
            actual = model.run(feed);
            if (actual.size() != expected.size()) {
                throw new Mismatch("the model produced " + actual.size() + " outputs; expected " + expected.size());
            }
            double worst = 0;
            boolean ok = true;
            int o = 0;
            for (Map.Entry<String, Tensor> e : actual.entrySet()) {
                Tensor a = e.getValue();
                Tensor x = expected.get(o++);
                if (a.dtype() != x.dtype() || !a.shape().equals(x.shape())) {
                    throw new Mismatch("output '" + e.getKey() + "' is " + a.dtype() + a.shape() + "; expected "
                            + x.dtype() + x.shape());
                }
                for (long i = 0; i < a.size(); i++) {
                    double av = Elements.getDouble(a, i);
                    double xv = Elements.getDouble(x, i);
                    if (Double.isNaN(xv) || Double.isNaN(av)) {
                        if (Double.isNaN(xv) != Double.isNaN(av)) {
                            ok = false;
                            worst = Double.POSITIVE_INFINITY;
                        }
                        continue;
                    }
                    if (av == xv) {
                        continue;
                    }
                    double err = Math.abs(av - xv);
                    worst = Math.max(worst, err);
                    boolean exact = !a.dtype().isFloatingPoint();
                    if (exact || !(err <= ATOL + RTOL * Math.abs(xv))) {
                        ok = false;
                    }
                }
            }
            return ok ? worst : -Math.max(worst, Double.MIN_VALUE);
        } finally {
            inputs.forEach(Tensor::close);
            expected.forEach(Tensor::close);
            actual.values().forEach(Tensor::close);
        }
    }

    private static List<Tensor> readAll(Path set, String prefix) throws IOException {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            Path f = set.resolve(prefix + i + ".pb");
            if (!Files.exists(f)) {
                return out;
            }
            try {
                TensorProto p = TensorProto.parseFrom(Files.readAllBytes(f));
                out.add(TensorCodec.decode(p, null));
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                out.forEach(Tensor::close);
                throw new dev.tandem.runtime.ModelFormatException(f + ": " + e.getMessage(), e);
            } catch (IOException | RuntimeException e) {
                out.forEach(Tensor::close);
                throw e;
            }
        }
    }
}
