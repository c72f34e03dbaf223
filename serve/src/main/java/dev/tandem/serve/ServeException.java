package dev.tandem.serve;

/**
 * A request the server refuses or cannot answer, with the HTTP status that says why: 400 malformed or invalid
 * input, 401 no valid token, 404 unknown model or version, 413 body too large, 429 queue full, 503 not ready or
 * shutting down, 504 not answered within the request timeout, 500 a failure inside the model. The message is
 * what the client reads in {@code {"error": "..."}}.
 */
public class ServeException extends RuntimeException {
    private final int status;

    public ServeException(int status, String message) {
        super(message);
        this.status = status;
    }

    public ServeException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status code. */
    public int status() {
        return status;
    }
}
