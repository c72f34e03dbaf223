package dev.tandem.train.quant;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.data.Dataset;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small float graphs (input [1,3,8,8], opset 13, seeded random weights) for the quantizer's tests. */
final class TinyModels {
    private TinyModels() {
    }

    /**
     * input → Conv(W, B) → Relu → Conv(W, B) → GlobalAveragePool → Flatten → Gemm(G1, b) → Relu → Gemm(G2, b) →
     * output [1,4]: W and B shared by the convs, b by the Gemms.
     */
    static Graph sharedInitializers() {
        Graph g = start();
        Random r = new Random(1);
        Value w = constant(g, "W", r, 3, 3, 3, 3);
        Value b = constant(g, "B", r, 3);
        Value g1 = constant(g, "G1", r, 3, 4);
        Value g2 = constant(g, "G2", r, 4, 4);
        Value gb = constant(g, "b", r, 4);
        Value c1 = node(g, "Conv", "conv1", pads(), g.find("input"), w, b);
        Value r1 = node(g, "Relu", "relu1", Map.of(), c1);
        Value c2 = node(g, "Conv", "conv2", pads(), r1, w, b);
        Value p = node(g, "GlobalAveragePool", "pool", Map.of(), c2);
        Value f = node(g, "Flatten", "flatten", Map.of(), p);
        Value l1 = node(g, "Gemm", "fc1", Map.of(), f, g1, gb);
        Value r2 = node(g, "Relu", "relu2", Map.of(), l1);
        return finish(g, node(g, "Gemm", "fc2", Map.of(), r2, g2, gb), 1, 4);
    }

    /**
     * input → Conv → Clip(0, 6) (bounds from Constant nodes, as PyTorch writes ReLU6) → Conv → Relu → Conv →
     * output [1,2,8,8].
     */
    static Graph activations() {
        Graph g = start();
        Random r = new Random(2);
        Value c1 = node(g, "Conv", "conv1", pads(), g.find("input"), constant(g, "W1", r, 4, 3, 3, 3),
                constant(g, "B1", r, 4));
        Value lo = node(g, "Constant", "six_min", Map.of("value", scalar(0f)));
        Value hi = node(g, "Constant", "six_max", Map.of("value", scalar(6f)));
        Value a1 = node(g, "Clip", "relu6", Map.of(), c1, lo, hi);
        Value c2 = node(g, "Conv", "conv2", pads(), a1, constant(g, "W2", r, 4, 4, 3, 3), constant(g, "B2", r, 4));
        Value a2 = node(g, "Relu", "relu", Map.of(), c2);
        Value c3 = node(g, "Conv", "conv3", Map.of(), a2, constant(g, "W3", r, 2, 4, 1, 1), constant(g, "B3", r, 2));
        return finish(g, c3, 1, 2, 8, 8);
    }

    /** input → Conv → SiLU (Sigmoid, Mul) → GlobalAveragePool → Flatten → Gemm → output [1,3]. */
    static Graph silu() {
        Graph g = start();
        Random r = new Random(3);
        Value c = node(g, "Conv", "conv", pads(), g.find("input"), constant(g, "W", r, 4, 3, 3, 3),
                constant(g, "B", r, 4));
        Value s = node(g, "Mul", "silu", Map.of(), c, node(g, "Sigmoid", "sigmoid", Map.of(), c));
        Value f = node(g, "Flatten", "flatten", Map.of(), node(g, "GlobalAveragePool", "pool", Map.of(), s));
        return finish(g, node(g, "Gemm", "fc", Map.of(), f, constant(g, "G", r, 4, 3), constant(g, "b", r, 3)), 1, 3);
    }

    private static Graph start() {
        Graph g = new Graph();
        g.opsets().put("", 13);
        Value x = g.value("input");
        x.setDeclared(new TensorType(DType.FLOAT32, 1, new long[] {1, 3, 8, 8}, null));
        g.inputs().add(x);
        return g;
    }

    private static Graph finish(Graph g, Value y, long... dims) {
        y.setDeclared(new TensorType(DType.FLOAT32, 1, dims, null));
        g.outputs().add(y);
        return g;
    }

    private static Attribute scalar(float v) {
        return new Attribute("value", Attribute.Kind.TENSOR, Tensor.ofFloats(Shape.scalar(), v));
    }

    private static Map<String, Attribute> pads() {
        return Map.of("pads", Attribute.of("pads", new long[] {1, 1, 1, 1}));
    }

    private static Value constant(Graph g, String name, Random r, int... dims) {
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
        g.add(new Node(name, op, "", List.of(in), List.of(out), attrs));
        return out;
    }

    /** Uniform noise images. */
    record Noise(int size, int channels, int height, int width) implements Dataset {
        @Override
        public List<String> classes() {
            return List.of("a", "b");
        }

        @Override
        public void read(int index, float[] dst, int off) {
            Random r = new Random(index);
            for (int i = 0; i < sampleSize(); i++) {
                dst[off + i] = r.nextFloat();
            }
        }

        @Override
        public int label(int index) {
            return index % 2;
        }
    }
}
