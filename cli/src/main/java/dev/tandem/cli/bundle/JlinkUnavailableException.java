package dev.tandem.cli.bundle;

/**
 * The JDK cannot link a Java runtime: it has no {@code jlink} (a JRE, or itself a jlinked runtime), it is older than
 * the runtime jar needs, or its {@code jlink} finds neither {@code jmods/} nor a linkable run-time image.
 */
public class JlinkUnavailableException extends BundleException {
    public JlinkUnavailableException(String message) {
        super(message);
    }
}
