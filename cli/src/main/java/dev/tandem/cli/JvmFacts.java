package dev.tandem.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.OptionalInt;
import java.util.Properties;

/** Facts about this build and the JVM running it, shared by {@code --version} and {@code tandem info}. */
final class JvmFacts {
    private static final String VERSION_RESOURCE = "/tandem-version.properties";

    private JvmFacts() {}

    /** The Tandem version this CLI was built as (from the filtered {@code tandem-version.properties}). */
    static String tandemVersion() {
        try (InputStream in = JvmFacts.class.getResourceAsStream(VERSION_RESOURCE)) {
            if (in == null) {
                return "unknown (" + VERSION_RESOURCE + " missing from the class path)";
            }
            Properties props = new Properties();
            props.load(in);
            return props.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + VERSION_RESOURCE, e);
        }
    }

    static String javaVersion() {
        return System.getProperty("java.version");
    }

    static String javaVendor() {
        return System.getProperty("java.vendor");
    }

    /**
     * Bit size of the vectors Tandem's kernels use ({@code Simd.bits()}: the CPU's widest unless
     * {@code -Dtandem.simd.bits} forces one), or empty when the JVM was started without
     * {@code --add-modules jdk.incubator.vector}.
     */
    static OptionalInt preferredVectorBits() {
        try {
            return OptionalInt.of(dev.tandem.runtime.kernels.Simd.bits());
        } catch (LinkageError e) {
            // The incubator module is only resolved when asked for; say so instead of crashing.
            return OptionalInt.empty();
        }
    }

    private static int nativeBits() {
        return dev.tandem.runtime.kernels.Simd.nativeBits();
    }

    static String vectorWidthText() {
        OptionalInt bits = preferredVectorBits();
        return bits.isPresent()
                ? bits.getAsInt() + " bits (CPU's widest: " + nativeBits() + "; force with -Dtandem.simd.bits=128|256|512)"
                : "unavailable: start Java with --add-modules jdk.incubator.vector";
    }
}
