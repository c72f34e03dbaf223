package dev.tandem.runtime.classify;

import dev.tandem.runtime.InvalidInputException;

/** An image that cannot be read or decoded; the message names the file (or says the bytes were given). */
public class ImageDecodeException extends InvalidInputException {
    public ImageDecodeException(String message) {
        super(message);
    }
}
