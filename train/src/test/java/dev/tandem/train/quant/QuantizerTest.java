package dev.tandem.train.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Node;
import dev.tandem.train.ModelEvaluation;
import dev.tandem.train.TrainOptions;
import dev.tandem.train.Trainer;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.Splits;
import dev.tandem.train.report.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FashionNet trained briefly on the bundled subset, quantized: accuracy within a point of float32, file at most
 * 30% of the float one, fused into integer ops by the runtime; and the bad inputs (empty or misshapen calibration
 * set; ops left float are reported).
 */
class QuantizerTest {
    @TempDir
    static Path dir;
    static Splits data;
    static Path model;

    @BeforeAll
    static void train() throws Exception {
        data = Quickstart.subset();
        PrintStream sink = new PrintStream(new ByteArrayOutputStream());
        TrainOptions o = new TrainOptions().out(dir.resolve("run")).epochs(2).batch(64).lr(0.05).maxStepsPerEpoch(20)
                .threads(2).workers(1).progress(new Progress.Options(Progress.Mode.QUIET, sink, Duration.ofSeconds(10)));
        model = new Trainer(o).fit(data, "fashion-mnist subset").model();
    }

    @Test
    void quantizedFashionNetKeepsItsAccuracyAtAQuarterOfTheSize() throws Exception {
        for (Quantizer.Method method : Quantizer.Method.values()) {
            Path out = dir.resolve("m." + method + ".int8.onnx");
            Quantizer.Report r = Quantizer.quantize(model, data.train(), Quantizer.Options.defaults()
                    .withSamples(200).withMethod(method).withThreads(2), out);
            assertThat(r.quantized()).hasSize(6);
            assertThat(r.leftFloat().keySet()).anyMatch(k -> k.startsWith("MaxPool"));
            assertThat(r.toString()).contains("Left in float32", "MaxPool");
            double fp = ModelEvaluation.evaluate(model, data.test(), 2).accuracy();
            double q = ModelEvaluation.evaluate(out, data.test(), 2).accuracy();
            System.out.printf("%s: float %.4f int8 %.4f, %d → %d bytes%n", method, fp, q, r.inputBytes(),
                    r.outputBytes());
            assertThat(Math.abs(fp - q)).as("%s accuracy float %s int8 %s", method, fp, q).isLessThanOrEqualTo(0.01);
            assertThat(Files.size(out)).isLessThanOrEqualTo((long) (0.30 * Files.size(model)));
            try (Model m = Model.load(out)) {
                assertThat(m.metadata()).containsEntry("tandem.input.size", "28,28")
                        .containsEntry("tandem.quant.method", method.name().toLowerCase(java.util.Locale.ROOT))
                        .containsKey("tandem.labels");
                List<String> ops = m.graph().nodes().stream().map(Node::opType).toList();
                assertThat(ops).contains("QConv", "QGemm").doesNotContain("Conv");
            }
        }
    }

    @Test
    void anEmptyCalibrationSetIsRefused() {
        Dataset empty = new Shaped(0, 1, 28, 28);
        assertThatThrownBy(() -> Quantizer.quantize(model, empty, Quantizer.Options.defaults(), dir.resolve("e.onnx")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThat(dir.resolve("e.onnx")).doesNotExist();
    }

    @Test
    void aCalibrationSetOfTheWrongShapeIsRefused() {
        Dataset rgb = new Shaped(10, 3, 32, 32);
        assertThatThrownBy(() -> Quantizer.quantize(model, rgb, Quantizer.Options.defaults(), dir.resolve("w.onnx")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1×28×28")
                .hasMessageContaining("3×32×32");
        assertThat(dir.resolve("w.onnx")).doesNotExist();
    }

    /** Grey images of one shape, all zero. */
    private record Shaped(int size, int channels, int height, int width) implements Dataset {
        @Override
        public List<String> classes() {
            return List.of("a", "b");
        }

        @Override
        public void read(int index, float[] dst, int off) {
            java.util.Arrays.fill(dst, off, off + sampleSize(), 0.5f);
        }

        @Override
        public int label(int index) {
            return 0;
        }
    }
}
