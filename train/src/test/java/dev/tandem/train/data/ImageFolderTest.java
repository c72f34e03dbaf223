package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image folders the test writes with ImageIO. */
class ImageFolderTest {
    static final int CAT = 0xC80A1E; // 200, 10, 30
    static final int DOG = 0x1E64F0; // 30, 100, 240
    static final ImageFolder.Options RGB_8x6 = ImageFolder.Options.of(8, 6, 3).withThreads(2);

    @TempDir
    Path tmp;

    private void trainVal() {
        for (int i = 0; i < 3; i++) {
            TestFiles.image(tmp.resolve("train/cat/c" + i + ".png"), 12, 10, CAT);
        }
        TestFiles.image(tmp.resolve("train/dog/d0.bmp"), 5, 7, DOG);
        TestFiles.image(tmp.resolve("train/dog/D1.PNG"), 30, 20, DOG);
        TestFiles.write(tmp.resolve("train/dog/notes.txt"), "not an image".getBytes());
        TestFiles.image(tmp.resolve("val/cat/v0.png"), 9, 9, CAT);
        TestFiles.image(tmp.resolve("val/dog/v1.png"), 9, 9, DOG);
    }

    @Test
    void trainAndValFoldersGiveFixedShapeRgb() {
        trainVal();
        Splits s = DataSpec.parse("folder:" + tmp).load(RGB_8x6);
        Dataset train = s.train();
        assertThat(train.classes()).containsExactly("cat", "dog");
        assertThat(new int[] {train.size(), train.channels(), train.height(), train.width()})
                .containsExactly(5, 3, 8, 6);
        assertThat(s.test().size()).isEqualTo(2);
        assertThat(s.skipped()).isEmpty();
        float[] x = new float[3 * 48];
        for (int i = 0; i < train.size(); i++) {
            train.read(i, x, 0);
            int rgb = train.label(i) == 0 ? CAT : DOG;
            for (int c = 0; c < 3; c++) {
                float expected = ((rgb >> (16 - 8 * c)) & 0xff) / 255f;
                for (int k = 0; k < 48; k++) {
                    assertThat(x[c * 48 + k]).isEqualTo(expected);
                }
            }
        }
        assertThat(((ImageFolder) train).file(3).getFileName()).hasToString("D1.PNG");
        assertThat(s.test().label(1)).isEqualTo(1);
    }

    @Test
    void greyIsTheBt601LumaOfTheColour() {
        trainVal();
        Dataset train = ImageFolder.load(tmp, ImageFolder.Options.of(4, 4, 1)).train();
        float[] x = new float[16];
        train.read(0, x, 0);
        assertThat(x).containsOnly(Math.round(0.299 * 200 + 0.587 * 10 + 0.114 * 30) / 255f);
    }

    @Test
    void jpegDecodesToAboutTheColour() {
        TestFiles.image(tmp.resolve("a/x.jpg"), 16, 16, DOG);
        TestFiles.image(tmp.resolve("a/y.JPEG"), 16, 16, DOG);
        Dataset d = ImageFolder.load(tmp, RGB_8x6.withValFraction(0)).train();
        float[] x = new float[3 * 48];
        d.read(1, x, 0);
        assertThat(x[0]).isCloseTo(30 / 255f, within(4 / 255f));
        assertThat(x[48]).isCloseTo(100 / 255f, within(4 / 255f));
        assertThat(x[96]).isCloseTo(240 / 255f, within(4 / 255f));
    }

    @Test
    void corruptImagesAreSkippedAndCountedOrFatalWhenStrict() {
        trainVal();
        Path broken = TestFiles.write(tmp.resolve("train/cat/broken.jpg"), "garbage, not an image".getBytes());
        Path cut = tmp.resolve("train/dog/cut.png");
        TestFiles.image(cut, 20, 20, DOG);
        TestFiles.write(cut, java.util.Arrays.copyOf(readAll(cut), 40));
        Splits s = ImageFolder.load(tmp, RGB_8x6);
        assertThat(s.train().size()).isEqualTo(5);
        assertThat(s.skipped()).extracting(ImageFolder.Skipped::file).containsExactly(broken, cut);
        assertThat(s.skipped().getFirst().reason()).contains("no image decoder");
        assertThatThrownBy(() -> ImageFolder.load(tmp, RGB_8x6.withStrict(true)))
                .isInstanceOf(DataFormatException.class).hasMessageContaining("Cannot decode image " + broken);
    }

    @Test
    void aClassWithoutReadableImagesIsAnError() {
        trainVal();
        Path bird = tmp.resolve("train/bird");
        TestFiles.write(bird.resolve("x.png"), new byte[] {1, 2, 3});
        assertThatThrownBy(() -> ImageFolder.load(tmp, RGB_8x6)).isInstanceOf(DataException.class)
                .hasMessageContaining("Class folder " + bird + " has no readable image");
    }

    @Test
    void emptyClassFolderIsAnErrorNamingIt() throws Exception {
        trainVal();
        Path bird = Files.createDirectories(tmp.resolve("train/bird"));
        TestFiles.write(bird.resolve("readme.txt"), new byte[0]);
        assertThatThrownBy(() -> ImageFolder.load(tmp, RGB_8x6)).isInstanceOf(DataException.class)
                .hasMessageContaining("Class folder " + bird + " has no images");
    }

    @Test
    void validationClassUnknownToTrainingIsAnError() {
        trainVal();
        TestFiles.image(tmp.resolve("val/fox/f.png"), 4, 4, 0);
        assertThatThrownBy(() -> ImageFolder.load(tmp, RGB_8x6)).isInstanceOf(DataException.class)
                .hasMessageContaining("Validation class folder " + tmp.resolve("val/fox") + " has no training");
    }

    @Test
    void oneFolderIsSplitPerClassBySeed() {
        for (int i = 0; i < 10; i++) {
            TestFiles.image(tmp.resolve("a/" + i + ".png"), 4, 4, CAT);
        }
        for (int i = 0; i < 5; i++) {
            TestFiles.image(tmp.resolve("b/" + i + ".png"), 4, 4, DOG);
        }
        ImageFolder.Options o = ImageFolder.Options.of(4, 4, 3).withValFraction(0.2).withSeed(7);
        Splits s = ImageFolder.load(tmp, o);
        assertThat(labels(s.train())).containsExactly(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1);
        assertThat(labels(s.test())).containsExactly(0, 0, 1);
        Set<Path> all = new HashSet<>(files(s.train()));
        all.addAll(files(s.test()));
        assertThat(all).hasSize(15);
        assertThat(files(ImageFolder.load(tmp, o).test())).isEqualTo(files(s.test()));
        assertThat(files(ImageFolder.load(tmp, o.withSeed(8)).test())).isNotEqualTo(files(s.test()));
        assertThat(s.sha256()).isEqualTo(DataSpec.parse("folder:" + tmp).sha256());
    }

    @Test
    void lazyDecodingReadsWhatTheCacheHolds() {
        trainVal();
        Dataset cached = ImageFolder.load(tmp, RGB_8x6).train();
        Dataset lazy = ImageFolder.load(tmp, RGB_8x6.withCacheBytes(0)).train();
        float[] a = new float[144];
        float[] b = new float[144];
        for (int i = 0; i < cached.size(); i++) {
            cached.read(i, a, 0);
            lazy.read(i, b, 0);
            assertThat(b).containsExactly(a);
        }
    }

    @Test
    void provenanceCoversEveryImageFileSkippedOnesToo() {
        trainVal();
        TestFiles.write(tmp.resolve("train/cat/broken.jpg"), new byte[] {9, 9});
        DataSpec spec = DataSpec.parse("folder:" + tmp);
        Splits s = spec.load(RGB_8x6);
        assertThat(spec.files()).hasSize(8).contains(tmp.resolve("train/cat/broken.jpg"));
        assertThat(s.sha256()).isEqualTo(spec.sha256());
        TestFiles.write(tmp.resolve("train/cat/broken.jpg"), new byte[] {9, 8});
        assertThat(spec.sha256()).isNotEqualTo(s.sha256());
    }

    private static List<Integer> labels(Dataset d) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) {
            out.add(d.label(i));
        }
        return out;
    }

    private static List<Path> files(Dataset d) {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) {
            out.add(((ImageFolder) d).file(i));
        }
        return out;
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
