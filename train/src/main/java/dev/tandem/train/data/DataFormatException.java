package dev.tandem.train.data;

/**
 * A data file whose bytes are malformed: a wrong magic number or dimension count, a length that does not match
 * its header (truncated or oversize), a corrupt gzip stream, an image no decoder reads, a label out of range. The
 * message names the file and what is wrong with it.
 */
public class DataFormatException extends DataException {
    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
