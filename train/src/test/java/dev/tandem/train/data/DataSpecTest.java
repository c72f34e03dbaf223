package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataSpecTest {
    @TempDir
    Path tmp;

    @Test
    void parsesEveryKind() {
        assertThat(DataSpec.parse("fashion-mnist:/d")).isEqualTo(new DataSpec(DataSpec.Kind.FASHION_MNIST, Path.of("/d")));
        assertThat(DataSpec.parse("MNIST:/d").kind()).isEqualTo(DataSpec.Kind.MNIST);
        assertThat(DataSpec.parse("cifar10:rel/dir").dir()).isEqualTo(Path.of("rel/dir"));
        assertThat(DataSpec.parse("folder:/a:b").dir()).isEqualTo(Path.of("/a:b"));
        assertThat(DataSpec.parse("folder:/x")).hasToString("folder:/x");
    }

    @Test
    void badSpecsSayWhatIsExpected() {
        assertThatThrownBy(() -> DataSpec.parse("imagenet:/x")).isInstanceOf(DataException.class)
                .hasMessage("Unknown data kind 'imagenet' in 'imagenet:/x'; expected one of fashion-mnist:DIR, "
                        + "mnist:DIR, cifar10:DIR, folder:DIR");
        assertThatThrownBy(() -> DataSpec.parse("/just/a/path")).isInstanceOf(DataException.class)
                .hasMessageContaining("must be KIND:DIR");
        assertThatThrownBy(() -> DataSpec.parse("mnist:")).hasMessageContaining("must be KIND:DIR");
    }

    @Test
    void missingFolderOrFilesAreNamed() {
        Path none = tmp.resolve("none");
        assertThatThrownBy(() -> DataSpec.parse("mnist:" + none).load()).isInstanceOf(DataException.class)
                .hasMessage("Data folder " + none + " (from 'mnist:" + none + "') does not exist");
        TestFiles.write(tmp.resolve("train-images-idx3-ubyte.gz"), TestFiles.gzip(TestFiles.idxImages(2, 3, 3)));
        TestFiles.write(tmp.resolve("train-labels-idx1-ubyte"), TestFiles.idxLabels(1, 2));
        assertThatThrownBy(() -> DataSpec.parse("fashion-mnist:" + tmp).load()).isInstanceOf(DataException.class)
                .hasMessageContaining("lacks t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")
                .hasMessageContaining("apt install dataset-fashion-mnist");
        assertThatThrownBy(() -> DataSpec.parse("folder:" + none).sha256()).isInstanceOf(DataException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void idxFolderLoadsPlainAndGzippedFilesWithProvenance() {
        TestFiles.write(tmp.resolve("train-images-idx3-ubyte.gz"), TestFiles.gzip(TestFiles.idxImages(2, 3, 3)));
        TestFiles.write(tmp.resolve("train-labels-idx1-ubyte"), TestFiles.idxLabels(1, 2));
        TestFiles.write(tmp.resolve("t10k-images-idx3-ubyte"), TestFiles.idxImages(1, 3, 3));
        TestFiles.write(tmp.resolve("t10k-labels-idx1-ubyte.gz"), TestFiles.gzip(TestFiles.idxLabels(9)));
        DataSpec spec = DataSpec.parse("mnist:" + tmp);
        Splits s = spec.load();
        assertThat(s.train().size()).isEqualTo(2);
        assertThat(s.test().label(0)).isEqualTo(9);
        assertThat(s.train().classes()).isEqualTo(DataSpec.MNIST_CLASSES);
        assertThat(spec.files()).extracting(p -> p.getFileName().toString()).containsExactly(
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte.gz");
        assertThat(s.sha256()).isEqualTo(spec.sha256());
        TestFiles.write(tmp.resolve("t10k-labels-idx1-ubyte.gz"), TestFiles.gzip(TestFiles.idxLabels(8)));
        assertThat(spec.sha256()).isNotEqualTo(s.sha256());
    }
}
