package dev.tandem.train.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file is not a complete, intact Tandem checkpoint: truncated, corrupted, of another format or of a
 * newer version. The message names the file and what is wrong; nothing of the file was loaded.
 */
public final class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public CheckpointException(Path path, String problem) {
        this(path, problem, null);
    }

    public CheckpointException(Path path, String problem, Throwable cause) {
        super("Checkpoint " + path + " is unusable: " + problem, cause);
        this.path = path;
    }

    /** The checkpoint file. */
    public Path path() {
        return path;
    }
}
