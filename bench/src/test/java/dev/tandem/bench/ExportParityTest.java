package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.ModelExport;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every zoo architecture, exported by the trainer, gives the same logits in ONNX Runtime and in Tandem's runtime
 * (within 1e-4 relative to the largest logit), at batch 1 and batch 3: the export is plain ONNX.
 */
class ExportParityTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"fashionnet,1,28,28", "resnet8,3,32,32", "resnet20,3,32,32", "resnet18,3,32,32", "mobilenet,3,32,32",
        "fashionnet,3,20,24"})
    void exportedModelsAgreeWithOnnxRuntime(String arch, int c, int h, int w) throws Exception {
        Path file = dir.resolve(arch + ".onnx");
        try (Module m = Zoo.create(arch, c, h, w, 10)) {
            m.resetParameters(3);
            // Non-trivial running statistics, so that inference-mode batch norm matters.
            Random rnd = new Random(1);
            m.namedBuffers().forEach((name, b) -> {
                float[] v = b.toArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = name.endsWith("running_var") ? 0.5f + rnd.nextFloat() : rnd.nextFloat() - 0.5f;
                }
                b.copyFrom(v);
            });
            float[] mean = new float[c], std = new float[c];
            java.util.Arrays.fill(mean, 0.5f);
            java.util.Arrays.fill(std, 0.25f);
            ModelExport.write(m, new int[] {c, h, w}, List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
                    new Normalize(mean, std), Map.of("tandem.train.dataset", "synthetic"), file);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession ort = env.createSession(file.toString(), new OrtSession.SessionOptions());
             Model tandem = Model.load(file)) {
            for (int n : new int[] {1, 3}) {
                float[] x = new float[n * c * h * w];
                Random rnd = new Random(n);
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] expected;
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, c, h, w});
                     OrtSession.Result r = ort.run(Map.of("input", in))) {
                    float[][] out = (float[][]) r.get(0).getValue();
                    expected = new float[n * 10];
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(out[i], 0, expected, i * 10, 10);
                    }
                }
                float[] actual;
                try (Tensor in = Tensor.ofFloats(Shape.of(n, c, h, w), x); Tensor out = tandem.run(in)) {
                    actual = out.toFloatArray();
                }
                double scale = 0;
                for (float v : expected) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int i = 0; i < expected.length; i++) {
                    assertThat((double) actual[i]).as("%s batch %d logit %d", arch, n, i)
                            .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4 * Math.max(1, scale)));
                }
            }
        }
    }
}
