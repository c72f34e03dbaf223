package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX files written by the test: good ones, and every kind of broken one. */
class IdxTest {
    @TempDir
    Path tmp;

    @Test
    void readsPlainAndGzippedFilesAlike() {
        byte[] images = TestFiles.idxImages(3, 2, 4);
        Path plain = TestFiles.write(tmp.resolve("a-idx3-ubyte"), images);
        Path gz = TestFiles.write(tmp.resolve("b"), TestFiles.gzip(images)); // no .gz: found by magic
        Path labels = TestFiles.write(tmp.resolve("l.gz"), TestFiles.gzip(TestFiles.idxLabels(2, 0, 1)));
        for (Path p : List.of(plain, gz)) {
            ByteDataset d = Idx.dataset(p, labels, List.of("x", "y", "z"));
            assertThat(new int[] {d.size(), d.channels(), d.height(), d.width()}).containsExactly(3, 1, 2, 4);
            assertThat(new int[] {d.label(0), d.label(1), d.label(2)}).containsExactly(2, 0, 1);
            float[] x = new float[8];
            d.read(2, x, 0);
            assertThat(x[5]).isEqualTo(((2 * 7 + 5) & 0xff) / 255f);
        }
    }

    @Test
    void truncatedAndOversizeFilesAreTypedErrorsNamingTheFile() {
        byte[] images = TestFiles.idxImages(3, 2, 4);
        Path cut = TestFiles.write(tmp.resolve("cut"), Arrays.copyOf(images, images.length - 5));
        assertThatThrownBy(() -> Idx.readImages(cut)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(cut.toString())
                .hasMessageContaining("truncated: its header declares 3 images of 2x4 (24 bytes) but only 19 follow");
        Path cutGz = TestFiles.write(tmp.resolve("cut.gz"), TestFiles.gzip(Arrays.copyOf(images, 20)));
        assertThatThrownBy(() -> Idx.readImages(cutGz)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(cutGz.toString()).hasMessageContaining("truncated");
        Path header = TestFiles.write(tmp.resolve("header"), Arrays.copyOf(images, 10));
        assertThatThrownBy(() -> Idx.readImages(header)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining("its header ends after 10 of 16 bytes");
        Path longer = TestFiles.write(tmp.resolve("long"), Arrays.copyOf(images, images.length + 1));
        assertThatThrownBy(() -> Idx.readImages(longer)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(longer.toString()).hasMessageContaining("extra bytes follow");
        byte[] gz = TestFiles.gzip(images);
        Path brokenGz = TestFiles.write(tmp.resolve("broken.gz"), Arrays.copyOf(gz, gz.length - 6));
        assertThatThrownBy(() -> Idx.readImages(brokenGz)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(brokenGz.toString()).hasMessageContaining("gzip");
    }

    @Test
    void wrongMagicTypeOrRankIsATypedError() {
        Path png = TestFiles.write(tmp.resolve("x.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0});
        assertThatThrownBy(() -> Idx.readImages(png)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(png + " is not an IDX file");
        byte[] floats = TestFiles.idxImages(1, 1, 1);
        floats[2] = 0x0d;
        Path f = TestFiles.write(tmp.resolve("f"), floats);
        assertThatThrownBy(() -> Idx.readImages(f)).hasMessageContaining("data type 0x0d");
        Path labels = TestFiles.write(tmp.resolve("labels"), TestFiles.idxLabels(1, 2));
        assertThatThrownBy(() -> Idx.readImages(labels)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining("has 1 dimensions; expected 3").hasMessageContaining("swapped");
        byte[] huge = TestFiles.idxImages(1, 1, 1);
        huge[4] = (byte) 0xff; // 4 billion images, 1 byte present: refused before allocating
        Path h = TestFiles.write(tmp.resolve("huge"), huge);
        assertThatThrownBy(() -> Idx.readImages(h)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining("at most");
    }

    @Test
    void imagesAndLabelsMustPairUp() {
        Path images = TestFiles.write(tmp.resolve("i"), TestFiles.idxImages(3, 2, 2));
        Path two = TestFiles.write(tmp.resolve("two"), TestFiles.idxLabels(0, 1));
        assertThatThrownBy(() -> Idx.dataset(images, two, List.of("a", "b")))
                .isInstanceOf(DataFormatException.class)
                .hasMessageContaining("holds 3 images but the labels file " + two + " holds 2 labels");
        Path big = TestFiles.write(tmp.resolve("big"), TestFiles.idxLabels(0, 1, 7));
        assertThatThrownBy(() -> Idx.dataset(images, big, List.of("a", "b")))
                .isInstanceOf(DataFormatException.class).hasMessageContaining("label 7 at index 2");
    }

    @Test
    void missingFileIsADataException() {
        assertThatThrownBy(() -> Idx.readLabels(tmp.resolve("nope")))
                .isInstanceOf(DataException.class).hasMessageContaining("nope does not exist");
    }
}
