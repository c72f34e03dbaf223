package dev.tandem.cli.bundle;

/**
 * A bundle that cannot be made: the model, the output folder, the jars or the JDK are not what packaging needs.
 * The message names the thing and the fix. Nothing is left behind: the folder being built is removed.
 */
public class BundleException extends RuntimeException {
    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
