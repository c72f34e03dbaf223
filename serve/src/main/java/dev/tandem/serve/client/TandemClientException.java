package dev.tandem.serve.client;

/**
 * A remote call that failed after its retries: the server's status and error message, or (status 0) the I/O
 * failure that prevented an answer (connection refused, timeout).
 */
public class TandemClientException extends RuntimeException {
    private final int status;

    public TandemClientException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status of the last answer, or 0 when no answer came. */
    public int status() {
        return status;
    }
}
