package dev.tandem.runtime.classify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.TestModels;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassifierTest {
    @TempDir
    Path dir;

    /** Identity-ish preprocessing: pixel values go straight into the Relu, which gives them back as logits. */
    private static final Map<String, String> RAW = Map.of("tandem.input.scale", "1", "tandem.input.mean", "0",
            "tandem.input.std", "1", "tandem.labels", "[\"red\", \"green\", \"blue\\u0021\"]");

    private Path model(Map<String, String> meta, long... dims) throws Exception {
        Path f = dir.resolve("m" + System.nanoTime() + ".onnx");
        Files.write(f, TestModels.relu(meta, dims).toByteArray());
        return f;
    }

    static BufferedImage solid(int w, int h, int rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    @Test
    void classifiesWithMetadataLabelsSoftmaxAndTopK() throws Exception {
        try (Classifier c = Classifier.load(model(RAW, 1, 3, 1, 1), Classifier.Options.defaults().withTopK(2))) {
            List<Prediction> p = c.classify(solid(5, 3, 0x0a_c8_32));
            assertThat(p).hasSize(2);
            assertThat(p.get(0).label()).isEqualTo("green");
            assertThat(p.get(0).index()).isEqualTo(1);
            assertThat(p.get(0).probability()).isCloseTo(1.0, within(1e-6));
            assertThat(p.get(1).label()).isEqualTo("blue!");
            double e = Math.exp(50 - 200) / (Math.exp(10 - 200) + 1 + Math.exp(50 - 200));
            assertThat(p.get(1).probability()).isCloseTo(e, within(1e-12));
        }
    }

    @Test
    void probabilitiesAreUsedAsTheyAreAndOutputsOfShapeNK11AreFlattened() throws Exception {
        Map<String, String> meta = Map.of("tandem.input.mean", "0", "tandem.input.std", "1");
        try (Classifier c = Classifier.load(model(meta, 1, 3, 1, 1))) {
            List<Prediction> p = c.classify(solid(1, 1, 0xff0000));
            assertThat(p).hasSize(3);
            assertThat(p.get(0).index()).isZero();
            assertThat(p.get(0).label()).isEqualTo("0");
            assertThat(p.get(0).probability()).isEqualTo(1.0);
        }
        Map<String, String> logits = Map.of("tandem.input.mean", "0", "tandem.input.std", "1", "tandem.output", "logits");
        try (Classifier c = Classifier.load(model(logits, 1, 3, 1, 1))) {
            assertThat(c.classify(solid(1, 1, 0xff0000)).get(0).probability()).isCloseTo(Math.E / (Math.E + 2), within(1e-6));
        }
    }

    @Test
    void batchesOfImagesRunTogetherAndConcurrentUseIsSafe() throws Exception {
        int[] colors = {0xff0000, 0x00ff00, 0x0000ff, 0x00ff00, 0xff0000};
        try (Classifier c = Classifier.load(model(RAW, -1, 3, 1, 1))) {
            List<BufferedImage> imgs = java.util.Arrays.stream(colors).mapToObj(k -> solid(2, 2, k)).toList();
            List<List<Prediction>> all = c.classifyAll(imgs);
            assertThat(all).extracting(l -> l.get(0).index()).containsExactly(0, 1, 2, 1, 0);
            ExecutorService ex = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> f = new java.util.ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    int k = i % colors.length;
                    f.add(ex.submit(() -> c.classify(solid(3, 3, colors[k])).get(0).index()));
                }
                for (int i = 0; i < f.size(); i++) {
                    assertThat(f.get(i).get()).isEqualTo(new int[] {0, 1, 2, 1, 0}[i % colors.length]);
                }
            } finally {
                ex.shutdown();
            }
        }
    }

    @Test
    void filesBytesAndBadImages() throws Exception {
        Path png = dir.resolve("g.png");
        ImageIO.write(solid(4, 4, 0x00ff00), "png", png.toFile());
        ByteArrayOutputStream bmp = new ByteArrayOutputStream();
        ImageIO.write(solid(4, 4, 0x0000ff), "bmp", bmp);
        Path bad = dir.resolve("bad.png");
        Files.writeString(bad, "not an image");
        try (Classifier c = Classifier.load(model(RAW, 1, 3, 1, 1))) {
            assertThat(c.classify(png).get(0).label()).isEqualTo("green");
            assertThat(c.classify(bmp.toByteArray()).get(0).label()).isEqualTo("blue!");
            assertThatThrownBy(() -> c.classify(bad)).isInstanceOf(ImageDecodeException.class)
                    .hasMessageContaining(bad.toString());
            assertThatThrownBy(() -> c.classify(dir.resolve("none.png"))).isInstanceOf(ImageDecodeException.class)
                    .hasMessageContaining("none.png");
            assertThatThrownBy(() -> c.classify(new byte[] {1, 2, 3})).isInstanceOf(ImageDecodeException.class);
        }
    }

    @Test
    void labelsFromOptionsOrFileReplaceTheModelsAndMustMatchTheClassCount() throws Exception {
        Path labels = dir.resolve("labels.txt");
        Files.writeString(labels, "a\nb\nc\n\n");
        Path m = model(RAW, 1, 3, 1, 1);
        try (Classifier c = Classifier.load(m, Classifier.Options.defaults().withLabelsFile(labels))) {
            assertThat(c.labels()).containsExactly("a", "b", "c");
            assertThat(c.classify(solid(1, 1, 0xff)).get(0).label()).isEqualTo("c");
        }
        assertThatThrownBy(() -> Classifier.load(m, Classifier.Options.defaults().withLabels(List.of("x"))))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("1 labels").hasMessageContaining("3 classes");
        assertThatThrownBy(() -> Classifier.load(model(Map.of("tandem.labels", "[\"a\","), 1, 3, 1, 1)))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tandem.labels");
    }

    @Test
    void specComesFromMetadataOverShapeOverImagenetDefaults() {
        ImageSpec d = ImageSpec.of(Map.of(), new long[] {-1, 3, 224, 224});
        assertThat(d.height()).isEqualTo(224);
        assertThat(d.layout()).isEqualTo("NCHW");
        assertThat(d.color()).isEqualTo("RGB");
        assertThat(d.mean()).containsExactly(0.485, 0.456, 0.406);
        assertThat(d.scale()).isEqualTo(1.0 / 255);
        assertThat(d.resize()).isEqualTo("shorter-side:256,center-crop");
        ImageSpec g = ImageSpec.of(Map.of("tandem.input.scale", "1/255", "tandem.input.resize", "stretch"),
                new long[] {1, 28, 28, 1});
        assertThat(g.layout()).isEqualTo("NHWC");
        assertThat(g.channels()).isEqualTo(1);
        assertThat(g.color()).isEqualTo("GRAY");
        assertThatThrownBy(() -> ImageSpec.of(Map.of("tandem.input.size", "32,32"), new long[] {1, 3, 28, 28}))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tandem.input.size");
        assertThatThrownBy(() -> ImageSpec.of(Map.of("tandem.input.resize", "zoom:2"), new long[] {1, 3, 28, 28}))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tandem.input.resize");
        assertThatThrownBy(() -> ImageSpec.of(Map.of("tandem.input.color", "GRAY"), new long[] {1, 3, 28, 28}))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("tandem.input.color");
    }

    @Test
    void resizeCropAndNormaliseFollowTheContract() {
        // 2x2 output from a 6x4 image whose left half is black and right half white, stretch then BGR.
        ImageSpec s = ImageSpec.of(Map.of("tandem.input.resize", "shorter-side:4,center-crop:4", "tandem.input.mean",
                "0", "tandem.input.std", "1", "tandem.input.scale", "1", "tandem.input.color", "BGR"),
                new long[] {1, 3, 2, 2});
        BufferedImage img = solid(6, 4, 0x102030);
        float[] out = new float[s.imageSize()];
        s.apply(img, out, 0);
        // A uniform image stays uniform through any resize; BGR puts blue first.
        assertThat(out).containsExactly(0x30, 0x30, 0x30, 0x30, 0x20, 0x20, 0x20, 0x20, 0x10, 0x10, 0x10, 0x10);
        BufferedImage half = solid(4, 2, 0);
        half.setRGB(2, 0, 0xffffff);
        half.setRGB(3, 0, 0xffffff);
        half.setRGB(2, 1, 0xffffff);
        half.setRGB(3, 1, 0xffffff);
        ImageSpec gray = ImageSpec.of(Map.of("tandem.input.resize", "stretch", "tandem.input.mean", "0",
                "tandem.input.std", "1"), new long[] {1, 1, 1, 2});
        float[] g = new float[2];
        gray.apply(half, g, 0);
        // Antialiased bilinear (PIL): the 2x downscale's triangle filter spans 4 pixels, weights 1/4, 3/4, 3/4, 1/4.
        assertThat(g[0]).isCloseTo(1f / 7, within(1e-6f));
        assertThat(g[1]).isCloseTo(6f / 7, within(1e-6f));
    }
}
