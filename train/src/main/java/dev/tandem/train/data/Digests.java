package dev.tandem.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * SHA-256 provenance of the files a dataset was read from. The digest of a set of files is the SHA-256 of the
 * text {@code sha256sum} prints for them, sorted by name: one line {@code "<hex>  <name>\n"} per file, names
 * relative to the data folder with {@code /} separators, in {@link String#compareTo} order. So
 * {@code cd DIR && sha256sum FILES... | sha256sum} (files listed in that order) gives the same value.
 */
final class Digests {
    private Digests() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("The JDK lacks SHA-256", e);
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** The hex SHA-256 of a whole file. */
    static String ofFile(Path file) {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        return hex(md.digest());
    }

    /** The digest of a set of files given as name → hex SHA-256 (see the class comment). */
    static String combine(Map<String, String> files) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(files).entrySet()) {
            sb.append(e.getValue()).append("  ").append(e.getKey()).append('\n');
        }
        return hex(sha256().digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** {@code file}'s name relative to {@code root}, with {@code /} separators. */
    static String name(Path root, Path file) {
        Path rel = root.relativize(file);
        StringBuilder sb = new StringBuilder();
        for (Path part : rel) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }
}
