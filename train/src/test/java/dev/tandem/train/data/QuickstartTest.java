package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
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
    void withoutTheDebianFilesTheSubsetIsUsed(@TempDir Path empty) {
        assertThat(Quickstart.data(empty).train().size()).isEqualTo(5000);
    }

    @Test
    void theSubsetStartsWithTheFullDatasetsFirstImages() {
        Path debian = Path.of(Quickstart.DEBIAN_FOLDER);
        Assumptions.assumeTrue(Files.isDirectory(debian), "dataset-fashion-mnist is not installed");
        Splits full = Quickstart.data();
        assertThat(full.train().size()).isEqualTo(60000);
        Splits subset = Quickstart.subset();
        float[] a = new float[784];
        float[] b = new float[784];
        for (Dataset[] pair : new Dataset[][] {{full.train(), subset.train()}, {full.test(), subset.test()}}) {
            pair[0].read(0, a, 0);
            pair[1].read(0, b, 0);
            assertThat(b).containsExactly(a);
            assertThat(pair[1].label(0)).isEqualTo(pair[0].label(0));
        }
    }
}
