package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10 binary batches, faked by the test in the real format. */
class Cifar10Test {
    @TempDir
    Path tmp;

    @Test
    void readsRecordsInOrderAsChw() {
        TestFiles.cifarFolder(tmp, true);
        Splits s = DataSpec.parse("cifar10:" + tmp).load();
        Dataset train = s.train();
        assertThat(new int[] {train.size(), train.channels(), train.height(), train.width()})
                .containsExactly(15, 3, 32, 32);
        assertThat(s.test().size()).isEqualTo(2);
        assertThat(train.classes()).hasSize(10).startsWith("AIRPLANE", "AUTOMOBILE"); // from batches.meta.txt
        for (int i = 0; i < 15; i++) {
            assertThat(train.label(i)).isEqualTo(i % 10);
        }
        // Record 1 of data_batch_4 is sample 10: pixel k = 40 + 3 + k; k = c·1024 + y·32 + x.
        float[] x = new float[3072];
        train.read(10, x, 0);
        int k = 2 * 1024 + 5 * 32 + 7;
        assertThat(x[k]).isEqualTo(((40 + 3 + k) & 0xff) / 255f);
        assertThat(s.test().label(1)).isEqualTo(8);
        assertThat(s.sha256()).isEqualTo(DataSpec.parse("cifar10:" + tmp).sha256()).hasSize(64);
    }

    @Test
    void findsTheExtractedFolderAndDefaultsTheNames() {
        TestFiles.cifarFolder(tmp.resolve("cifar-10-batches-bin"), false);
        Splits s = new DataSpec(DataSpec.Kind.CIFAR10, tmp).load();
        assertThat(s.train().classes()).isEqualTo(Cifar10.CLASSES);
        assertThat(s.sha256()).isEqualTo(new DataSpec(DataSpec.Kind.CIFAR10, tmp).sha256());
    }

    @Test
    void missingBatchesAreNamed() throws Exception {
        TestFiles.cifarFolder(tmp, false);
        Files.delete(tmp.resolve("data_batch_3.bin"));
        Files.delete(tmp.resolve("test_batch.bin"));
        assertThatThrownBy(() -> DataSpec.parse("cifar10:" + tmp).load()).isInstanceOf(DataException.class)
                .hasMessageContaining("lacks data_batch_3.bin, test_batch.bin");
    }

    @Test
    void truncatedBatchOrBadLabelIsAFormatError() {
        TestFiles.cifarFolder(tmp, false);
        Path batch = tmp.resolve("data_batch_2.bin");
        TestFiles.write(batch, java.util.Arrays.copyOf(TestFiles.cifarBatch(0, 1, 2), 3073 + 100));
        assertThatThrownBy(() -> Cifar10.load(tmp)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(batch.toString()).hasMessageContaining("3173 bytes, not a whole number");
        TestFiles.write(batch, TestFiles.cifarBatch(0, 1, 10));
        assertThatThrownBy(() -> Cifar10.load(tmp)).isInstanceOf(DataFormatException.class)
                .hasMessageContaining(batch.toString()).hasMessageContaining("label 10 in record 1");
    }
}
