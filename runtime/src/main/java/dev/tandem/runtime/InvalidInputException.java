package dev.tandem.runtime;

/**
 * Run-time inputs that do not fit the model: an unknown or missing input name, a wrong data type or shape. The
 * message says what the model expects.
 */
public class InvalidInputException extends ModelException {
    public InvalidInputException(String message) {
        super(message);
    }
}
