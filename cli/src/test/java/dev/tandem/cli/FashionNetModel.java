package dev.tandem.cli;

import dev.tandem.train.ModelExport;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** An untrained FashionNet exported as the trainer exports it: real size, labels and preprocessing, in a second. */
final class FashionNetModel {
    static final List<String> LABELS = List.of("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
            "sneaker", "bag", "boot");

    private FashionNetModel() {
    }

    /** Writes the model to {@code file} (creating its folder) and returns the file. */
    static Path write(Path file) throws Exception {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (Module m = Zoo.create("fashionnet", 1, 28, 28, 10)) {
            m.resetParameters(1);
            ModelExport.write(m, new int[] {1, 28, 28}, LABELS, new Normalize(new float[] {0.286f},
                    new float[] {0.353f}), Map.of(), file);
        }
        return file;
    }
}
