package dev.tandem.train.data;

import java.util.ArrayList;
import java.util.List;

/**
 * A training set and its test (or validation) set, as a {@link DataSpec} or a reader loads them, with the SHA-256
 * of the files they were read from (see {@link DataSpec#sha256()} for its definition). The test set has the
 * training set's classes, shape and channel count.
 *
 * @param train  the training set
 * @param test   the test or validation set (may be empty: a folder split with fraction 0)
 * @param sha256 hex SHA-256 provenance of the files read
 */
public record Splits(Dataset train, Dataset test, String sha256) {
    /** Images skipped as unreadable while loading (image folders only; empty otherwise), training set first. */
    public List<ImageFolder.Skipped> skipped() {
        List<ImageFolder.Skipped> out = new ArrayList<>();
        for (Dataset d : List.of(train, test)) {
            if (d instanceof ImageFolder f) {
                out.addAll(f.skipped());
            }
        }
        return out;
    }
}
