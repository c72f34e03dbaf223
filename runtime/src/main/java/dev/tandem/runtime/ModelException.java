package dev.tandem.runtime;

/**
 * Base of every error Tandem raises about a model or its use: a malformed file, an unsupported op, wrong run-time
 * inputs. Messages name the thing at fault (file, node, input) and, where there is one, the fix.
 */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
