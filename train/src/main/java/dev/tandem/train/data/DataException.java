package dev.tandem.train.data;

/**
 * Data that cannot be used as given: a missing folder or file, an unknown data kind, an empty class folder, a
 * validation class the training set lacks. The message names the path or spec at fault and, where there is one,
 * the fix.
 */
public class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
