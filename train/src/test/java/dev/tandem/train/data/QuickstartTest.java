package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickstartTest {
    @Test
    void theBundledSubsetIsBalanced() {
        Splits s = Quickstart.subset();
        assertThat(s.train().size()).isEqualTo(5000);
        assertThat(s.test().size()).isEqualTo(1000);
        int[] train = new int[10];
        for (int i = 0; i < 5000; i++) {
            train[s.train().label(i)]++;
        }
        int[] test = new int[10];
        for (int i = 0; i < 1000; i++) {
            test[s.test().label(i)]++;
        }
        assertThat(train).containsOnly(500);
        assertThat(test).containsOnly(100);
        assertThat(s.train().classes()).isEqualTo(DataSpec.FASHION_MNIST_CLASSES);
        assertThat(s.sha256()).hasSize(64);
        assertThat(Quickstart.class.getResource(Quickstart.RESOURCES + "LICENSE-fashion-mnist.txt")).isNotNull();
    }

    @Test
    void theFullFilesArePreferredWhenPresent(@TempDir Path dir) {
        assertThat(Quickstart.data(dir).train().size()).isEqualTo(5000);
        TestFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), TestFiles.gzip(TestFiles.idxImages(2, 28, 28)));
        TestFiles.write(dir.resolve("train-labels-idx1-ubyte.gz"), TestFiles.gzip(TestFiles.idxLabels(1, 2)));
        TestFiles.write(dir.resolve("t10k-images-idx3-ubyte"), TestFiles.idxImages(1, 28, 28));
        assertThat(Quickstart.data(dir).train().size()).isEqualTo(5000); // incomplete: still the subset
        TestFiles.write(dir.resolve("t10k-labels-idx1-ubyte"), TestFiles.idxLabels(3));
        assertThat(Quickstart.data(dir).train().size()).isEqualTo(2);
    }

    @Test
    void theSubsetStartsWithTheFullDatasetsFirstImages() throws IOException {
        Path debian = Path.of(Quickstart.DEBIAN_FOLDER);
        Assumptions.assumeTrue(Files.isDirectory(debian), "dataset-fashion-mnist is not installed");
        Splits subset = Quickstart.subset();
        float[] x = new float[784];
        for (String split : new String[] {"train", "t10k"}) {
            Dataset d = split.equals("train") ? subset.train() : subset.test();
            d.read(0, x, 0);
            byte[] first;
            try (InputStream in = new GZIPInputStream(Files.newInputStream(
                    debian.resolve(split + "-images-idx3-ubyte.gz")))) {
                in.skipNBytes(16);
                first = in.readNBytes(784);
            }
            for (int k = 0; k < 784; k++) {
                assertThat(x[k]).isEqualTo((first[k] & 0xff) / 255f);
            }
            assertThat(d.label(0)).isEqualTo(9);
        }
    }
}
