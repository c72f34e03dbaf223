package dev.tandem.train.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An atomic write of {@link #path()} failed; the file still holds its previous content (or is still absent) and
 * no temporary file is left behind. The cause is the underlying {@link IOException} (for example "No space left on
 * device").
 */
public final class AtomicWriteException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public AtomicWriteException(Path path, IOException cause) {
        super("Could not write " + path + ": " + cause.getMessage()
                + " (the previous content of the file, if any, is intact)", cause);
        this.path = path;
    }

    /** The file that was to be written. */
    public Path path() {
        return path;
    }
}
