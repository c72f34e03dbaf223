package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.io.Npy;
import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** infer, predict, bench, inspect and conformance on small Relu models the test writes. */
class ModelCommandsTest {
    @TempDir
    Path dir;

    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Tandem.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private static ValueInfoProto info(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }

    /** x → Relu → "y/out" (a name that needs sanitising), with metadata. */
    private Path reluModel(String file, Map<String, String> meta, long... dims) throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("relu")
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu0").addInput("x").addOutput("y/out"))
                .addInput(info("x", dims)).addOutput(info("y/out", dims)).build();
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(8).setProducerName("test").setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17));
        meta.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        Path p = dir.resolve(file);
        Files.write(p, m.build().toByteArray());
        return p;
    }

    @Test
    void inferWritesEachOutputAsNpy() throws Exception {
        Path model = reluModel("relu.onnx", Map.of(), -1, 3);
        Path in = dir.resolve("x.npy");
        try (Tensor x = Tensor.ofFloats(Shape.of(2, 3), -1, 2, -3, 4, -5, 6)) {
            Npy.write(in, x);
        }
        Result r = run("infer", "--model", model.toString(), "--input", "x=" + in, "--output-dir",
                dir.resolve("out").toString(), "--threads", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        try (Tensor y = Npy.read(dir.resolve("out/y_out.npy"))) {
            assertThat(y.shape()).isEqualTo(Shape.of(2, 3));
            assertThat(y.toFloatArray()).containsExactly(0, 2, 0, 4, 0, 6);
        }
        // A single-input model takes a bare file too.
        assertThat(run("infer", "--model", model.toString(), "--input", in.toString(), "--output-dir",
                dir.resolve("out2").toString()).exitCode()).isZero();
    }

    @Test
    void inferErrorsAreOneLineWithExitCode2() throws Exception {
        Path model = reluModel("relu.onnx", Map.of(), 1, 3);
        Path bad = dir.resolve("bad.npy");
        Files.writeString(bad, "nope");
        Path wrong = dir.resolve("wrong.npy");
        try (Tensor x = Tensor.ofFloats(Shape.of(2, 2), 1, 2, 3, 4)) {
            Npy.write(wrong, x);
        }
        String out = dir.resolve("o").toString();
        for (String[] args : List.of(
                new String[] {"infer", "--model", dir.resolve("missing.onnx").toString(), "--input", "x=" + wrong, "--output-dir", out},
                new String[] {"infer", "--model", model.toString(), "--input", "x=" + bad, "--output-dir", out},
                new String[] {"infer", "--model", model.toString(), "--input", "x=" + dir.resolve("none.npy"), "--output-dir", out},
                new String[] {"infer", "--model", model.toString(), "--input", "x=" + wrong, "--output-dir", out},
                new String[] {"infer", "--model", model.toString(), "--input", "z=" + wrong, "--output-dir", out})) {
            Result r = run(args);
            assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("error: ").doesNotContain("\n").doesNotContain("\tat ");
        }
        Result r = run("-v", "infer", "--model", model.toString(), "--input", "x=" + bad, "--output-dir", out);
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("\tat ");
    }

    private Path image(String name, int rgb) throws Exception {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        Path p = dir.resolve(name);
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    @Test
    void predictPrintsOneJsonObjectPerImage() throws Exception {
        Path model = reluModel("cls.onnx", Map.of("tandem.labels", "[\"red\",\"green\",\"blue\"]",
                "tandem.input.scale", "1", "tandem.input.mean", "0", "tandem.input.std", "1"), -1, 3, 1, 1);
        Path red = image("red.png", 0xff0000);
        Path blue = image("blue.png", 0x0000ff);
        Result r = run("predict", "--model", model.toString(), "--top", "2", red.toString(), blue.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(2);
        ObjectMapper m = new ObjectMapper();
        JsonNode first = m.readTree(lines.get(0));
        assertThat(first.get("file").asText()).isEqualTo(red.toString());
        assertThat(first.get("top")).hasSize(2);
        assertThat(first.get("top").get(0).get("label").asText()).isEqualTo("red");
        assertThat(first.get("top").get(0).get("index").asInt()).isZero();
        assertThat(first.get("top").get(0).get("probability").asDouble()).isGreaterThan(0.99);
        assertThat(m.readTree(lines.get(1)).get("top").get(0).get("label").asText()).isEqualTo("blue");
        // The bundle's predict prints the same line, character for character.
        assertThat(lines.get(0)).startsWith("{\"file\":\"" + red + "\",\"top\":[{\"label\":\"red\",\"index\":0,"
                + "\"probability\":");

        Path labels = dir.resolve("labels.txt");
        Files.writeString(labels, "R\nG\nB\n");
        Result l = run("predict", "--model", model.toString(), "--labels", labels.toString(), blue.toString());
        assertThat(m.readTree(l.out()).get("top").get(0).get("label").asText()).isEqualTo("B");
        assertThat(m.readTree(l.out()).get("top")).hasSize(3);

        Path bad = dir.resolve("bad.jpg");
        Files.writeString(bad, "not a jpeg");
        Result b = run("predict", "--model", model.toString(), bad.toString());
        assertThat(b.exitCode()).isEqualTo(2);
        assertThat(b.err()).contains(bad.toString()).doesNotContain("\tat ");
    }

    @Test
    void benchPrintsTimingsAndSizes() throws Exception {
        Path model = reluModel("relu.onnx", Map.of(), -1, 3, 8, 8);
        Result r = run("bench", "--model", model.toString(), "--threads", "1", "--batch", "2", "--iters", "5",
                "--warmup", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        for (String k : List.of("load_ms", "first_run_ms", "p50_ms", "p90_ms", "mean_ms", "arena_bytes",
                "weight_bytes", "threads", "batch", "iters")) {
            assertThat(j.has(k)).as(k).isTrue();
        }
        assertThat(j.get("batch").asInt()).isEqualTo(2);
        assertThat(j.get("iters").asInt()).isEqualTo(5);
        assertThat(j.get("threads").asInt()).isEqualTo(1);
        assertThat(j.get("p90_ms").asDouble()).isGreaterThanOrEqualTo(j.get("p50_ms").asDouble());
        // HotSpot counts allocation per thread; whatever the JIT did, a run allocates a non-negative amount
        assertThat(j.get("alloc_bytes_per_run").asLong()).isNotNegative();
        assertThat(j.get("warmup_runs").asInt()).isEqualTo(1);
        // no --warmup: runs until the JIT has been quiet for a second (bounded at 60 s)
        Result s = run("bench", "--model", model.toString(), "--iters", "2", "--input-shape", "x=4x3x8x8");
        assertThat(s.exitCode()).as(s.err()).isZero();
        assertThat(new ObjectMapper().readTree(s.out()).get("warmup_runs").asInt()).isPositive();
        Result negative = run("bench", "--model", model.toString(), "--warmup", "-1");
        assertThat(negative.exitCode()).isEqualTo(2);
        assertThat(negative.err()).contains("--warmup", ">= 0");
        Result bad = run("bench", "--model", model.toString(), "--input-shape", "q=1x2");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("no input 'q'");
    }

    @Test
    void benchProfileListsTheSlowestNodesWithTheirRate() throws Exception {
        // x [1, 64] · Wᵀ with W [32, 64] (transB): 2048 multiply-adds, then a ReLU that does none
        float[] w = new float[32 * 64];
        java.util.Arrays.fill(w, 0.01f);
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(4 * w.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(w);
        GraphProto g = GraphProto.newBuilder().setName("fc")
                .addNode(NodeProto.newBuilder().setOpType("Gemm").setName("fc0").addInput("x").addInput("w")
                        .addOutput("h").addAttribute(AttributeProto.newBuilder().setName("transB").setI(1)
                                .setType(AttributeProto.AttributeType.INT)))
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("act").addInput("h").addOutput("y"))
                .addInitializer(TensorProto.newBuilder().setName("w").addDims(32).addDims(64)
                        .setDataType(TensorProto.DataType.FLOAT_VALUE)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())))
                .addInput(info("x", 1, 64)).addOutput(info("y", 1, 32)).build();
        Path model = dir.resolve("fc.onnx");
        Files.write(model, ModelProto.newBuilder().setIrVersion(8).setProducerName("test").setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        Result r = run("bench", "--model", model.toString(), "--threads", "1", "--iters", "3", "--warmup", "0",
                "--profile", "--profile-top", "1");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode slow = new ObjectMapper().readTree(r.out()).get("profile").get("slowest_nodes");
        assertThat(slow).hasSize(1);
        Result all = run("bench", "--model", model.toString(), "--threads", "1", "--iters", "3", "--warmup", "0",
                "--profile", "--profile-top", "5");
        JsonNode nodes = new ObjectMapper().readTree(all.out()).get("profile").get("slowest_nodes");
        JsonNode gemm = null;
        for (JsonNode n : nodes) {
            if (n.get("node").asText().contains("fc0")) {
                gemm = n;
            } else {
                assertThat(n.has("multiply_adds")).as(n.toString()).isFalse();
            }
        }
        assertThat(gemm).as(nodes.toString()).isNotNull();
        assertThat(gemm.get("multiply_adds").asLong()).isEqualTo(32 * 64);
        assertThat(gemm.get("gflops").asDouble()).isPositive();
        assertThat(run("bench", "--model", model.toString(), "--profile-top", "-1").exitCode()).isEqualTo(2);
    }

    @Test
    void inspectDescribesTheModelAsTextAndJsonAndListsOps() throws Exception {
        Path model = reluModel("relu.onnx", Map.of("tandem.labels", "[\"a\"]"), -1, 3, 4, 4);
        Result t = run("inspect", "--model", model.toString());
        assertThat(t.exitCode()).as(t.err()).isZero();
        assertThat(t.out()).contains("x: float32[N,3,4,4]", "y/out", "tandem.labels", "Relu 1", "arena bytes");
        Result j = run("inspect", "--model", model.toString(), "--json");
        JsonNode n = new ObjectMapper().readTree(j.out());
        assertThat(n.get("ops_loaded").get("Relu").asInt()).isEqualTo(1);
        assertThat(n.get("ops_optimized").get("Relu").asInt()).isEqualTo(1);
        assertThat(n.get("arena_bytes").asLong()).isPositive();
        assertThat(n.get("parameters").asLong()).isZero();
        assertThat(n.get("inputs").get(0).get("type").asText()).isEqualTo("float32[N,3,4,4]");
        Result ops = run("inspect", "--ops");
        assertThat(ops.exitCode()).isZero();
        assertThat(ops.out()).contains("Relu");
        assertThat(run("inspect").exitCode()).isEqualTo(2);
    }

    @Test
    void unsupportedModelsAreOneLineErrors() throws Exception {
        GraphProto g = GraphProto.newBuilder().addNode(NodeProto.newBuilder().setOpType("NoSuchOp").setName("n")
                .addInput("x").addOutput("y")).addInput(info("x", 1)).addOutput(info("y", 1)).build();
        Path p = dir.resolve("u.onnx");
        Files.write(p, ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build().toByteArray());
        Result r = run("inspect", "--model", p.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("NoSuchOp").contains("'n'");
        assertThat(r.err().strip().lines()).hasSize(1);
    }

    @Test
    void conformanceReportsEachCaseAndTotals() throws Exception {
        Path cases = dir.resolve("cases");
        Path good = Files.createDirectories(cases.resolve("test_relu_mine/test_data_set_0"));
        Files.copy(reluModel("relu.onnx", Map.of(), 2), good.getParent().resolve("model.onnx"));
        try (Tensor x = Tensor.ofFloats(Shape.of(2), -1, 3); Tensor y = Tensor.ofFloats(Shape.of(2), 0, 3);
             Tensor wrong = Tensor.ofFloats(Shape.of(2), 1, 3)) {
            Files.write(good.resolve("input_0.pb"), dev.tandem.runtime.onnx.TensorCodec.encode("x", x).toByteArray());
            Files.write(good.resolve("output_0.pb"), dev.tandem.runtime.onnx.TensorCodec.encode("y", y).toByteArray());
            Path bad = Files.createDirectories(cases.resolve("test_relu_wrong/test_data_set_0"));
            Files.copy(good.getParent().resolve("model.onnx"), bad.getParent().resolve("model.onnx"));
            Files.copy(good.resolve("input_0.pb"), bad.resolve("input_0.pb"));
            Files.write(bad.resolve("output_0.pb"), dev.tandem.runtime.onnx.TensorCodec.encode("y", wrong).toByteArray());
        }
        Result r = run("conformance", cases.toString(), "--threads", "1");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).contains("pass test_relu_mine", "FAIL test_relu_wrong", "1 passed, 1 failed, 0 unsupported");
        Result f = run("conformance", cases.toString(), "--filter", "mine", "--quiet");
        assertThat(f.exitCode()).isZero();
        assertThat(f.out().strip()).isEqualTo("1 passed, 0 failed, 0 unsupported");
        assertThat(run("conformance", dir.resolve("nope").toString()).exitCode()).isEqualTo(2);
    }
}
