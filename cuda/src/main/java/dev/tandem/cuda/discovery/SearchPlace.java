package dev.tandem.cuda.discovery;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One folder library discovery looks in, and why it looks there.
 *
 * @param origin where the folder came from: "CUDA_HOME", "LD_LIBRARY_PATH", "standard", "ld.so.conf",
 *     "pip wheel", ...
 * @param folder the folder
 */
public record SearchPlace(String origin, Path folder) {
    public SearchPlace {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(folder, "folder");
    }

    @Override
    public String toString() {
        return folder + " (" + origin + ")";
    }
}
