package dev.tandem.runtime.onnx;

import dev.tandem.runtime.TestModels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.google.protobuf.ByteString;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Feeds mutated models to the loader and the executor: bit flips, byte-range overwrites, truncation and inflated
 * protobuf length fields, applied to a few small backend-test models (when libonnx-testdata is installed) and to
 * models this test writes (with an initializer; with external data). Whatever comes out must be a
 * {@link ModelException} (which {@code InvalidInputException} is): never another exception, an
 * {@link OutOfMemoryError} or a hang.
 *
 * <p>CI runs {@value #DEFAULT_ITERATIONS} iterations with a fixed seed. For a longer run:
 * {@code ./mvnw -B -pl runtime test -Dtest=FuzzTest -Dtandem.fuzz.iterations=200000} (and
 * {@code -Dtandem.fuzz.seed=N} for another sequence).
 */
class FuzzTest {
    static final int DEFAULT_ITERATIONS = 2000;
    private static final List<String> NODE_CASES = List.of("test_relu", "test_conv_with_strides_padding",
            "test_gemm_default_single_elem_vector_bias");

    @TempDir
    static Path tmp;

    private static ThreadPool pool;

    /** A model to mutate, the inputs to run it with, and the folder it must be loaded from (external data). */
    private record Seed(String name, byte[] bytes, List<Tensor> inputs, Path externalDir) {
    }

    @BeforeAll
    static void start() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void finish() {
        pool.close();
    }

    private static List<Seed> seeds() throws Exception {
        List<Seed> out = new ArrayList<>();
        for (String name : NODE_CASES) {
            Path c = ConformanceTest.ROOT.resolve("node").resolve(name);
            if (!Files.isDirectory(c)) {
                continue;
            }
            List<Tensor> ins = new ArrayList<>();
            for (int i = 0; Files.exists(c.resolve("test_data_set_0/input_" + i + ".pb")); i++) {
                ins.add(TensorCodec.decode(TensorProto.parseFrom(
                        Files.readAllBytes(c.resolve("test_data_set_0/input_" + i + ".pb"))), null));
            }
            out.add(new Seed(name, Files.readAllBytes(c.resolve("model.onnx")), ins, null));
        }
        out.add(new Seed("initializer", initializerModel(false).toByteArray(), List.of(), null));
        Path ext = Files.createDirectories(tmp.resolve("ext"));
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) {
            data.putFloat(i - 8);
        }
        Files.write(ext.resolve("w.bin"), data.array());
        out.add(new Seed("external", initializerModel(true).toByteArray(), List.of(), ext));
        return out;
    }

    /** y = Relu(w) with w a [4,4] float initializer, inline or in external file w.bin. */
    static ModelProto initializerModel(boolean external) {
        TensorProto.Builder w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(4).addDims(4);
        if (external) {
            w.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue("64"));
        } else {
            ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 16; i++) {
                b.putFloat(i - 8);
            }
            w.setRawData(ByteString.copyFrom(b.array()));
        }
        GraphProto g = GraphProto.newBuilder().setName("init").addInitializer(w)
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("r").addInput("w").addOutput("y"))
                .addOutput(TestModels.floatInput("y", 4, 4)).build();
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).build();
    }

    @Test
    void mutatedModelsFailOnlyWithModelExceptions() throws Exception {
        int iterations = Integer.getInteger("tandem.fuzz.iterations", DEFAULT_ITERATIONS);
        long seed = Long.getLong("tandem.fuzz.seed", 20261126L);
        List<Seed> seeds = seeds();
        // Unmutated, each seed loads (or is honestly unsupported in this build) and runs.
        for (Seed s : seeds) {
            assertThat(tryModel(s, s.bytes, -1)).as(s.name).isNotNull();
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] outcome = new int[2];
        int batch = 100;
        for (int done = 0; done < iterations; done += batch) {
            int n = Math.min(batch, iterations - done);
            int first = done;
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (int i = 0; i < n; i++) {
                    Seed s = seeds.get(rnd.nextInt(seeds.size()));
                    byte[] m = mutate(s.bytes, rnd);
                    Boolean ran = tryModel(s, m, first + i);
                    outcome[ran ? 1 : 0]++;
                }
            }, () -> "iterations " + first + ".." + (first + n) + " (seed " + seed + ") did not finish in 60 s");
        }
        System.out.println("fuzz: " + iterations + " mutated models, " + outcome[1] + " loaded and ran, "
                + outcome[0] + " refused with a ModelException");
    }

    /** True when the model loaded and ran, false when a ModelException refused it; fails on anything else. */
    private static Boolean tryModel(Seed s, byte[] bytes, int iteration) {
        try {
            Model m;
            if (s.externalDir != null) {
                Path f = s.externalDir.resolve("model.onnx");
                Files.write(f, bytes);
                m = Model.load(f, Model.Options.defaults().withPool(pool));
            } else {
                m = Model.load(bytes, Model.Options.defaults().withPool(pool));
            }
            try (m) {
                Map<String, Tensor> feed = new LinkedHashMap<>();
                for (int i = 0; i < Math.min(s.inputs.size(), m.inputs().size()); i++) {
                    feed.put(m.inputs().get(i).name(), s.inputs.get(i));
                }
                m.run(feed).values().forEach(Tensor::close);
            }
            return true;
        } catch (ModelException e) {
            return false;
        } catch (Throwable e) {
            ByteArrayOutputStream trace = new ByteArrayOutputStream();
            e.printStackTrace(new java.io.PrintStream(trace));
            return fail("Seed " + s.name + ", iteration " + iteration + ": " + e + " is not a ModelException\n" + trace);
        }
    }

    static byte[] mutate(byte[] in, SplittableRandom r) {
        byte[] b = in.clone();
        int kind = r.nextInt(5);
        switch (kind) {
            case 0 -> { // bit flips
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    int i = r.nextInt(b.length);
                    b[i] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> { // byte-range overwrite
                int start = r.nextInt(b.length);
                int len = Math.min(b.length - start, 1 + r.nextInt(16));
                int mode = r.nextInt(3);
                for (int i = start; i < start + len; i++) {
                    b[i] = (byte) (mode == 0 ? 0 : mode == 1 ? 0xff : r.nextInt(256));
                }
            }
            case 2 -> { // truncation
                b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            }
            default -> { // inflate a varint after a length-delimited (wire type 2) or varint (0) tag
                List<Integer> tags = new ArrayList<>();
                for (int i = 0; i + 1 < b.length; i++) {
                    if ((b[i] & 7) == (kind == 3 ? 2 : 0) && (b[i] & 0x80) == 0 && (b[i] & 0xff) >> 3 != 0) {
                        tags.add(i);
                    }
                }
                if (tags.isEmpty()) {
                    return b;
                }
                int at = tags.get(r.nextInt(tags.size())) + 1;
                int end = at;
                while (end < b.length && (b[end] & 0x80) != 0) {
                    end++;
                }
                end = Math.min(b.length, end + 1);
                long[] choices = {Integer.MAX_VALUE, 1L << 40, -1L, b.length, b.length - at + r.nextInt(64),
                    (1L << 31) + 5, 0x7fff_ffff_ffffL};
                long v = choices[r.nextInt(choices.length)];
                ByteArrayOutputStream o = new ByteArrayOutputStream();
                o.write(b, 0, at);
                do {
                    long bits = v & 0x7f;
                    v >>>= 7;
                    o.write((int) (v != 0 ? bits | 0x80 : bits));
                } while (v != 0);
                o.write(b, end, b.length - end);
                b = o.toByteArray();
            }
        }
        return b;
    }

    // ---- TensorCodec, targeted

    private static TensorProto.Builder floats(String name, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1);
        for (long d : dims) {
            t.addDims(d);
        }
        return t;
    }

    private static TensorProto external(String location, long offset, long length) {
        return floats("w", 4).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(length)))
                .build();
    }

    @Test
    void rawDataSizeMismatchNamesTheTensor() {
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 2, 2).setRawData(ByteString.copyFrom(new byte[12]))
                .build(), null)).isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("12 bytes");
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 3).addFloatData(1).build(), null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
    }

    @Test
    void hugeAndNegativeDimensionsAreRefusedBeforeAllocating() {
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 1L << 40).setRawData(ByteString.copyFrom(new byte[4]))
                .build(), null)).isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 1 << 20, 1 << 20)
                .setRawData(ByteString.copyFrom(new byte[4])).build(), null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 1 << 29).setRawData(ByteString.copyFrom(new byte[4]))
                .build(), null)).isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(floats("w", 2, -3).build(), null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("-3");
    }

    @Test
    void externalDataMustStayInsideTheModelsFolderAndFitTheFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("codec"));
        Path outside = Files.write(tmp.resolve("secret.bin"), new byte[16]);
        Files.write(dir.resolve("w.bin"), new byte[16]);
        Files.createSymbolicLink(dir.resolve("link.bin"), outside);
        try (Tensor ok = TensorCodec.decode(external("w.bin", 0, 16), dir)) {
            assertThat(ok.size()).isEqualTo(4);
        }
        assertThatThrownBy(() -> TensorCodec.decode(external("../secret.bin", 0, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("..");
        assertThatThrownBy(() -> TensorCodec.decode(external(outside.toString(), 0, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("absolute");
        assertThatThrownBy(() -> TensorCodec.decode(external("link.bin", 0, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("outside");
        assertThatThrownBy(() -> TensorCodec.decode(external("w.bin", 8, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'").hasMessageContaining("offset 8");
        assertThatThrownBy(() -> TensorCodec.decode(external("w.bin", 1L << 40, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(external("w.bin", 0, 1L << 40), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(external("w.bin", -4, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(external("missing.bin", 0, 16), dir))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
        assertThatThrownBy(() -> TensorCodec.decode(external("w.bin", 0, 16), null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tensor 'w'");
    }
}
