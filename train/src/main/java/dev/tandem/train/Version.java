package dev.tandem.train;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Tandem's version, from the build (written into exported models' provenance). */
public final class Version {
    public static final String TANDEM = read();

    private Version() {
    }

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream("tandem-train-version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
