package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Fashion-MNIST, as Debian's dataset-fashion-mnist installs it (CI installs the package). */
class FashionMnistTest {
    static final Path DIR = Path.of(Quickstart.DEBIAN_FOLDER);
    static Splits data;

    @BeforeAll
    static void load() {
        Assumptions.assumeTrue(Files.isDirectory(DIR), "dataset-fashion-mnist is not installed at " + DIR);
        data = DataSpec.parse("fashion-mnist:" + DIR).load();
    }

    @Test
    void countsShapeAndClasses() {
        assertThat(data.train().size()).isEqualTo(60000);
        assertThat(data.test().size()).isEqualTo(10000);
        for (Dataset d : new Dataset[] {data.train(), data.test()}) {
            assertThat(new int[] {d.channels(), d.height(), d.width()}).containsExactly(1, 28, 28);
            assertThat(d.classes()).hasSize(10).startsWith("T-shirt/top", "Trouser").endsWith("Ankle boot");
        }
    }

    @Test
    void everyClassHasItsShare() {
        int[] train = new int[10];
        for (int i = 0; i < data.train().size(); i++) {
            train[data.train().label(i)]++;
        }
        int[] test = new int[10];
        for (int i = 0; i < data.test().size(); i++) {
            test[data.test().label(i)]++;
        }
        int[] sixThousand = new int[10];
        Arrays.fill(sixThousand, 6000);
        int[] thousand = new int[10];
        Arrays.fill(thousand, 1000);
        assertThat(train).containsExactly(sixThousand);
        assertThat(test).containsExactly(thousand);
    }

    @Test
    void firstImagesMatchTheFileAndKnownFacts() throws IOException {
        byte[] expected = firstImage(DIR.resolve("train-images-idx3-ubyte.gz"));
        float[] x = new float[784];
        data.train().read(0, x, 0);
        long sum = 0;
        int nonZero = 0;
        int max = 0;
        for (int k = 0; k < 784; k++) {
            assertThat(x[k]).isEqualTo((expected[k] & 0xff) / 255f);
            int v = Math.round(x[k] * 255);
            sum += v;
            nonZero += v > 0 ? 1 : 0;
            max = Math.max(max, v);
        }
        // Known facts about Fashion-MNIST's first training image: an ankle boot.
        assertThat(data.train().label(0)).isEqualTo(9);
        assertThat(sum).isEqualTo(76247);
        assertThat(nonZero).isEqualTo(433);
        assertThat(max).isEqualTo(255);
        assertThat(data.test().label(0)).isEqualTo(9);
        data.test().read(0, x, 0);
        byte[] test0 = firstImage(DIR.resolve("t10k-images-idx3-ubyte.gz"));
        for (int k = 0; k < 784; k++) {
            assertThat(x[k]).isEqualTo((test0[k] & 0xff) / 255f);
        }
    }

    @Test
    void normalizeOfTheTrainingSetGivesTheKnownStatistics() {
        Normalize n = Normalize.of(data.train());
        assertThat(n.mean()[0]).isCloseTo(0.2860f, org.assertj.core.data.Offset.offset(1e-4f));
        assertThat(n.std()[0]).isCloseTo(0.3530f, org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void sha256IsTheDigestOfTheSha256sumLines() throws Exception {
        StringBuilder lines = new StringBuilder();
        for (String f : new String[] {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(DIR.resolve(f)));
            lines.append(HexFormat.of().formatHex(d)).append("  ").append(f).append('\n');
        }
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(lines.toString().getBytes(StandardCharsets.UTF_8)));
        assertThat(data.sha256()).isEqualTo(expected);
        assertThat(DataSpec.parse("fashion-mnist:" + DIR).sha256()).isEqualTo(expected);
    }

    @Test
    void truncatedCopyOfTheRealFileIsATypedError(@TempDir Path tmp) throws IOException {
        byte[] gz = Files.readAllBytes(DIR.resolve("t10k-images-idx3-ubyte.gz"));
        Path cut = TestFiles.write(tmp.resolve("t10k-images-idx3-ubyte.gz"), Arrays.copyOf(gz, gz.length / 2));
        assertThatThrownBy(() -> Idx.readImages(cut)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(cut.toString()).hasMessageContaining("gzip");

        byte[] plain;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(DIR.resolve("t10k-labels-idx1-ubyte.gz")))) {
            plain = in.readAllBytes();
        }
        Path shortLabels = TestFiles.write(tmp.resolve("labels"), Arrays.copyOf(plain, plain.length - 1));
        assertThatThrownBy(() -> Idx.readLabels(shortLabels)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(shortLabels.toString())
                .hasMessageContaining("truncated: its header declares 10000 labels (10000 bytes) but only 9999");
    }

    private static byte[] firstImage(Path gz) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            byte[] head = in.readNBytes(16);
            assertThat(head).startsWith(0, 0, 8, 3);
            return in.readNBytes(784);
        }
    }
}
