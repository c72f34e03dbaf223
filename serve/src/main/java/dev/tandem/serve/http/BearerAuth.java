package dev.tandem.serve.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Bearer-token authentication: a request is allowed when its {@code Authorization: Bearer <token>} header holds one
 * of the configured tokens.
 *
 * <p>Tokens are compared in constant time: the given token and every configured one are hashed with SHA-256 (so
 * their lengths are equal and hidden) and compared with {@link MessageDigest#isEqual}, against all tokens without
 * stopping at the first match. Only the hashes are kept in memory.
 */
public final class BearerAuth {
    private final List<byte[]> hashes;

    private BearerAuth(List<byte[]> hashes) {
        this.hashes = hashes;
    }

    /**
     * Tokens from a file: one per line; blank lines and lines starting with {@code #} are skipped, spaces around a
     * token are ignored.
     *
     * @throws IllegalArgumentException when the file holds no token
     * @throws UncheckedIOException     when it cannot be read
     */
    public static BearerAuth fromFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the token file '" + file + "': " + e.getMessage(), e);
        }
        List<String> tokens = new ArrayList<>();
        for (String l : lines) {
            String t = l.strip();
            if (!t.isEmpty() && !t.startsWith("#")) {
                tokens.add(t);
            }
        }
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("The token file '" + file + "' holds no token (one per line)");
        }
        return of(tokens);
    }

    /** These tokens (none may be blank or hold white space). */
    public static BearerAuth of(Collection<String> tokens) {
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("At least one token is needed");
        }
        List<byte[]> h = new ArrayList<>();
        for (String t : tokens) {
            if (t.isBlank() || t.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("A token may not be blank or hold white space");
            }
            h.add(sha256(t));
        }
        return new BearerAuth(List.copyOf(h));
    }

    /** True when the {@code Authorization} header value (null when absent) carries a configured token. */
    public boolean allows(String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = sha256(authorization.substring(7).strip());
        boolean ok = false;
        for (byte[] h : hashes) {
            ok |= MessageDigest.isEqual(h, given);
        }
        return ok;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
