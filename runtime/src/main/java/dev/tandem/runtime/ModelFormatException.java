package dev.tandem.runtime;

/**
 * A model file that cannot be read: truncated, corrupted, hostile (sizes that do not match the bytes present,
 * external data outside the model's folder) or inconsistent (a node reading a value nothing produces).
 */
public class ModelFormatException extends ModelException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
