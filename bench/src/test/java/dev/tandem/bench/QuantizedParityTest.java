package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.tensor.DType;
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
 * Models quantized by Tandem are standard QDQ models: ONNX Runtime runs them. A FashionNet trained briefly: its top-1
 * class agrees with Tandem's fused integer execution on at least 97% of the test images. A small graph with shared
 * initializers and activation units: same output within a few quantization steps.
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

    /**
     * Layers that share their weights and biases (PyTorch's exporter shares identical initializers) and a ReLU6 and
     * Relu quantized with the conv before them: ONNX Runtime loads the file (it refuses repeated node names) and
     * gives Tandem's output within a few quantization steps.
     */
    @Test
    void onnxRuntimeRunsSharedInitializersAndActivationUnits() throws Exception {
        Path model = dir.resolve("tiny.onnx");
        OnnxWriter.write(tinyModel(), model);
        Path q = dir.resolve("tiny.int8.onnx");
        Quantizer.Report report = Quantizer.quantize(model, new Noise(), Quantizer.Options.defaults().withSamples(16)
                .withThreads(2), q);
        assertThat(report.activated()).hasSize(3);
        float[] x = new float[3 * 8 * 8];
        java.util.Random r = new java.util.Random(9);
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() * 2 - 0.5f;
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] a, b;
        try (OrtSession ort = env.createSession(q.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 3, 8, 8});
             OrtSession.Result res = ort.run(Map.of("input", in))) {
            a = ((float[][]) res.get(0).getValue())[0];
        }
        try (Model tandem = Model.load(q, Model.Options.defaults().withThreads(2));
             Tensor in = Tensor.ofFloats(Shape.of(1, 3, 8, 8), x); Tensor out = tandem.run(in)) {
            b = out.toFloatArray();
        }
        float max = 0;
        for (float v : a) {
            max = Math.max(max, Math.abs(v));
        }
        assertThat(max).isGreaterThan(0f);
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(a[i] - b[i])).as("output %d: ORT %s, Tandem %s", i, a[i], b[i])
                    .isLessThanOrEqualTo(0.05f * max);
        }
    }

    /**
     * input [1,3,8,8] → Conv(W, B) → Clip(0, 6) → Conv(W, B) → Relu → GlobalAveragePool → Flatten → Gemm(G1, b) →
     * Relu → Gemm(G2, b) → output [1,4].
     */
    private static Graph tinyModel() {
        Graph g = new Graph();
        g.opsets().put("", 13);
        java.util.Random r = new java.util.Random(4);
        Value x = g.value("input");
        x.setDeclared(new TensorType(DType.FLOAT32, 1, new long[] {1, 3, 8, 8}, null));
        g.inputs().add(x);
        Value w = constant(g, "W", r, 3, 3, 3, 3);
        Value bias = constant(g, "B", r, 3);
        Value gb = constant(g, "b", r, 4);
        Map<String, Attribute> pads = Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1}));
        Value lo = node(g, "Constant", "lo", Map.of("value", new Attribute("value", Attribute.Kind.TENSOR,
                Tensor.ofFloats(Shape.scalar(), 0f))));
        Value hi = node(g, "Constant", "hi", Map.of("value", new Attribute("value", Attribute.Kind.TENSOR,
                Tensor.ofFloats(Shape.scalar(), 6f))));
        Value c1 = node(g, "Clip", "relu6", Map.of(), node(g, "Conv", "conv1", pads, x, w, bias), lo, hi);
        Value c2 = node(g, "Relu", "relu", Map.of(), node(g, "Conv", "conv2", pads, c1, w, bias));
        Value f = node(g, "Flatten", "flatten", Map.of(), node(g, "GlobalAveragePool", "pool", Map.of(), c2));
        Value l1 = node(g, "Relu", "relu2", Map.of(), node(g, "Gemm", "fc1", Map.of(), f,
                constant(g, "G1", r, 3, 4), gb));
        Value y = node(g, "Gemm", "fc2", Map.of(), l1, constant(g, "G2", r, 4, 4), gb);
        y.setDeclared(new TensorType(DType.FLOAT32, 1, new long[] {1, 4}, null));
        g.outputs().add(y);
        return g;
    }

    private static Value constant(Graph g, String name, java.util.Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.5);
        }
        Value c = g.value(name);
        c.setConstant(Tensor.ofFloats(s, v));
        return c;
    }

    private static Value node(Graph g, String op, String name, Map<String, Attribute> attrs, Value... in) {
        Value out = g.value(name + "_out");
        g.add(new Node(name, op, "", java.util.List.of(in), java.util.List.of(out), attrs));
        return out;
    }

    /** Sixteen images of uniform noise, 3×8×8. */
    private record Noise() implements Dataset {
        @Override
        public int size() {
            return 16;
        }

        @Override
        public int channels() {
            return 3;
        }

        @Override
        public int height() {
            return 8;
        }

        @Override
        public int width() {
            return 8;
        }

        @Override
        public java.util.List<String> classes() {
            return java.util.List.of("a", "b");
        }

        @Override
        public void read(int index, float[] dst, int off) {
            java.util.Random r = new java.util.Random(index);
            for (int i = 0; i < sampleSize(); i++) {
                dst[off + i] = r.nextFloat();
            }
        }

        @Override
        public int label(int index) {
            return index % 2;
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
