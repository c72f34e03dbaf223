package dev.tandem.runtime;

/**
 * A model too large for one ONNX file: protobuf cannot encode a message over 2 GiB, and Tandem does not write
 * weights to external data files. Raised before anything is written.
 */
public class ModelTooLargeException extends ModelException {
    private final long bytes;
    private final long limit;

    public ModelTooLargeException(String message, long bytes, long limit) {
        super(message);
        this.bytes = bytes;
        this.limit = limit;
    }

    /** The size that was refused (at least; counting stops at the first overflow). */
    public long bytes() {
        return bytes;
    }

    /** The largest size allowed, in bytes. */
    public long limit() {
        return limit;
    }
}
