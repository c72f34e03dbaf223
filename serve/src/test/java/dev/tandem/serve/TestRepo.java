package dev.tandem.serve;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** Builds model repositories for the tests: tiny ONNX models written with the runtime's graph API. */
final class TestRepo {
    static final List<String> LABELS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven",
            "eight", "nine");

    private TestRepo() {
    }

    private static TensorType type(DType t, Object... dims) {
        long[] d = new long[dims.length];
        String[] names = new String[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] instanceof String s) {
                d[i] = -1;
                names[i] = s;
            } else {
                d[i] = ((Number) dims[i]).longValue();
            }
        }
        return new TensorType(t, t.onnxCode(), d, names);
    }

    private static Value constant(Graph g, String name, Tensor t) {
        Value v = g.value(name);
        v.setConstant(t);
        return v;
    }

    /**
     * A Fashion-MNIST-shaped classifier, x[batch,1,28,28] → Conv(2, 3×3) → Relu → Flatten → Gemm(10) → logits,
     * with tandem.* metadata. Its logits are {@code 0.001·(c+1)·sum(relu(conv(x)))}-ish small numbers plus 10 on
     * class {@code winner}: every image is classified as {@code winner}, which tells the versions apart.
     */
    static Graph classifier(int winner) {
        return classifier(winner, 10f);
    }

    /** {@link #classifier(int)} with {@code bias} on the winning class (NaN: a model whose scores are NaN). */
    static Graph classifier(int winner, float bias) {
        Graph g = new Graph();
        g.setName("digits");
        g.opsets().put("", 17);
        Value x = g.value("x");
        x.setDeclared(type(DType.FLOAT32, "batch", 1, 28, 28));
        g.inputs().add(x);
        float[] w = new float[2 * 9];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 3 - 1) * 0.01f;
        }
        Value cw = constant(g, "conv.weight", Tensor.ofFloats(Shape.of(2, 1, 3, 3), w));
        Value cb = constant(g, "conv.bias", Tensor.ofFloats(Shape.of(2), 0.01f, 0.02f));
        float[] fw = new float[10 * 2 * 26 * 26];
        for (int c = 0; c < 10; c++) {
            for (int i = 0; i < 2 * 26 * 26; i++) {
                fw[c * 2 * 26 * 26 + i] = 0.001f * (c + 1);
            }
        }
        float[] fb = new float[10];
        fb[winner] = bias;
        Value gw = constant(g, "fc.weight", Tensor.ofFloats(Shape.of(10, 2 * 26 * 26), fw));
        Value gb = constant(g, "fc.bias", Tensor.ofFloats(Shape.of(10), fb));
        g.add(new Node("conv", "Conv", "", List.of(x, cw, cb), List.of(g.value("c")),
                Map.of("kernel_shape", Attribute.of("kernel_shape", new long[] {3, 3}))));
        g.add(new Node("relu", "Relu", "", List.of(g.value("c")), List.of(g.value("r")), Map.of()));
        g.add(new Node("flatten", "Flatten", "", List.of(g.value("r")), List.of(g.value("f")),
                Map.of("axis", Attribute.of("axis", 1L))));
        Value y = g.value("logits");
        y.setDeclared(type(DType.FLOAT32, "batch", 10));
        g.add(new Node("fc", "Gemm", "", List.of(g.value("f"), gw, gb), List.of(y),
                Map.of("transB", Attribute.of("transB", 1L))));
        g.outputs().add(y);
        Map<String, String> md = g.metadata();
        md.put("tandem.labels", "[\"" + String.join("\",\"", LABELS) + "\"]");
        md.put("tandem.output", "logits");
        md.put("tandem.input.size", "28,28");
        md.put("tandem.input.channels", "1");
        md.put("tandem.input.layout", "NCHW");
        md.put("tandem.input.color", "GRAY");
        md.put("tandem.input.scale", "1/255");
        md.put("tandem.input.mean", "0.2860");
        md.put("tandem.input.std", "0.3530");
        md.put("tandem.input.resize", "stretch");
        return g;
    }

    /** x int64[batch,3] → Add([1,2,3]) → y int64[batch,3]. */
    static Graph adder() {
        Graph g = new Graph();
        g.setName("adder");
        g.opsets().put("", 17);
        Value x = g.value("x");
        x.setDeclared(type(DType.INT64, "batch", 3));
        g.inputs().add(x);
        Value c = constant(g, "c", Tensor.ofLongs(Shape.of(3), 1, 2, 3));
        Value y = g.value("y");
        y.setDeclared(type(DType.INT64, "batch", 3));
        g.add(new Node("add", "Add", "", List.of(x, c), List.of(y), Map.of()));
        g.outputs().add(y);
        return g;
    }

    /** Writes {@code graph} (then closes it) as {@code root/name/version/model.onnx}. */
    static Path write(Path root, String name, long version, Graph graph) {
        Path file = root.resolve(name).resolve(Long.toString(version)).resolve("model.onnx");
        try (graph) {
            Files.createDirectories(file.getParent());
            OnnxWriter.write(graph, file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** Drops bytes that are no ONNX model as {@code root/name/version/model.onnx}. */
    static Path writeCorrupt(Path root, String name, long version) {
        Path file = root.resolve(name).resolve(Long.toString(version)).resolve("model.onnx");
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, "this is not an ONNX model \u0000\u0001\u0002".repeat(10).getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** A grey PNG of the given size. */
    static byte[] png(int w, int h, int gray) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (gray + x + y) & 0xFF);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
