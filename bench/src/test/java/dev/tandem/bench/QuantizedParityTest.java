package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.TrainOptions;
import dev.tandem.train.Trainer;
import dev.tandem.train.data.Dataset;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.Splits;
import dev.tandem.train.quant.Quantizer;
import dev.tandem.train.report.Progress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A FashionNet trained briefly and quantized by Tandem is a standard QDQ model: ONNX Runtime runs it, and its
 * top-1 class agrees with Tandem's fused integer execution on at least 97% of the test images.
 */
class QuantizedParityTest {
    @TempDir
    Path dir;

    @Test
    void onnxRuntimeRunsTheQuantizedModelWithTheSameTopOne() throws Exception {
        Splits data = Quickstart.subset();
        TrainOptions o = new TrainOptions().out(dir.resolve("run")).epochs(1).batch(64).lr(0.05)
                .maxStepsPerEpoch(20).threads(2).workers(1)
                .progress(new Progress.Options(Progress.Mode.QUIET, new PrintStream(new ByteArrayOutputStream()),
                        Duration.ofSeconds(10)));
        Path model = new Trainer(o).fit(data, "subset").model();
        Path q = dir.resolve("m.int8.onnx");
        Quantizer.quantize(model, data.train(), Quantizer.Options.defaults().withSamples(128).withThreads(2), q);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession ort = env.createSession(q.toString(), new OrtSession.SessionOptions());
             Model tandem = Model.load(q, Model.Options.defaults().withThreads(2))) {
            assertThat(tandem.graph().nodes().stream().map(n -> n.opType())).contains("QConv", "QGemm");
            float mean = Float.parseFloat(tandem.metadata().get("tandem.input.mean"));
            float std = Float.parseFloat(tandem.metadata().get("tandem.input.std"));
            Dataset test = data.test();
            int n = 300, agree = 0;
            float[] x = new float[28 * 28];
            for (int i = 0; i < n; i++) {
                test.read(i * 3, x, 0);
                for (int p = 0; p < x.length; p++) {
                    x[p] = (x[p] - mean) / std;
                }
                int a, b;
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 1, 28, 28});
                     OrtSession.Result r = ort.run(Map.of("input", in))) {
                    a = argmax(((float[][]) r.get(0).getValue())[0]);
                }
                try (Tensor in = Tensor.ofFloats(Shape.of(1, 1, 28, 28), x); Tensor out = tandem.run(in)) {
                    b = argmax(out.toFloatArray());
                }
                agree += a == b ? 1 : 0;
            }
            System.out.println("int8 top-1 agreement with ONNX Runtime: " + agree + "/" + n);
            assertThat(agree).isGreaterThanOrEqualTo((int) Math.ceil(0.97 * n));
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }
}
