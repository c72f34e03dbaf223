package dev.tandem.runtime;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory sizes as people write them, for budgets given on a command line or in a config: {@link #parse} reads
 * {@code 1048576}, {@code 512k}, {@code 64m}, {@code 1g} (also {@code 64M}, {@code 64mb}, {@code 64MiB}); units are
 * binary ({@code k} = 1024), as the JVM's {@code -Xmx} reads them. {@link #describe} writes a byte count for a
 * message. Stateless; thread-safe.
 */
public final class MemorySize {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);

    private MemorySize() {
    }

    /**
     * Parses a size: a whole number of bytes, optionally followed by {@code k}, {@code m}, {@code g} or {@code t}.
     *
     * @return the size in bytes, at least 1
     * @throws IllegalArgumentException naming the text and the accepted forms when it is malformed, zero or beyond
     *                                  {@link Long#MAX_VALUE} bytes
     */
    public static long parse(String text) {
        String s = text == null ? "" : text.strip();
        Matcher m = SIZE.matcher(s);
        if (!m.matches() || (m.group(2).isEmpty() && m.group(3) != null && m.group(3).length() == 2)) {
            throw new IllegalArgumentException("'" + text + "' is not a memory size; give bytes, or a whole number with "
                    + "k, m, g or t (binary units), e.g. 524288, 512k, 64m or 1g");
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        long bytes;
        try {
            long n = Long.parseLong(m.group(1));
            if (n > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            bytes = n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large a memory size (at most "
                    + Long.MAX_VALUE + " bytes)");
        }
        if (bytes == 0) {
            throw new IllegalArgumentException("'" + text + "' is no memory at all; give a size above 0, e.g. 64m");
        }
        return bytes;
    }

    /** Bytes for a message: {@code "12345678 bytes (11.8 MiB)"}, exact count first so it can be copied. */
    public static String describe(long bytes) {
        return bytes + " bytes (" + human(bytes) + ")";
    }

    /** A short binary-unit form: {@code 512 B}, {@code 1.5 KiB}, {@code 11.8 MiB}, {@code 2.0 GiB}. */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
