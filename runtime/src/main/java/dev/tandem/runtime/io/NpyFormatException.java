package dev.tandem.runtime.io;

import dev.tandem.runtime.ModelException;

/**
 * A NumPy {@code .npy} file that cannot be read: missing, truncated, corrupted, or using a feature Tandem does not
 * read (Fortran order, big-endian or object data). The message names the file and what is wrong with it.
 */
public class NpyFormatException extends ModelException {
    public NpyFormatException(String message) {
        super(message);
    }

    public NpyFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
