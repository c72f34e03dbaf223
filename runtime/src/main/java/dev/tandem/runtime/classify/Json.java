package dev.tandem.runtime.classify;

import java.util.ArrayList;
import java.util.List;

/** The one piece of JSON the runtime reads: an array of strings (the {@code tandem.labels} metadata value). */
final class Json {
    private Json() {
    }

    /**
     * Parses a JSON array of strings.
     *
     * @throws IllegalArgumentException saying where the text is not such an array
     */
    static List<String> stringArray(String text) {
        int[] pos = {0};
        List<String> out = new ArrayList<>();
        skip(text, pos);
        expect(text, pos, '[');
        skip(text, pos);
        if (peek(text, pos) == ']') {
            pos[0]++;
        } else {
            while (true) {
                skip(text, pos);
                out.add(string(text, pos));
                skip(text, pos);
                char c = peek(text, pos);
                pos[0]++;
                if (c == ']') {
                    break;
                }
                if (c != ',') {
                    throw new IllegalArgumentException("expected ',' or ']' at offset " + (pos[0] - 1));
                }
            }
        }
        skip(text, pos);
        if (pos[0] != text.length()) {
            throw new IllegalArgumentException("unexpected text after the array at offset " + pos[0]);
        }
        return out;
    }

    private static String string(String s, int[] pos) {
        expect(s, pos, '"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            char c = peek(s, pos);
            pos[0]++;
            if (c == '"') {
                return sb.toString();
            }
            if (c < 0x20) {
                throw new IllegalArgumentException("control character in a string at offset " + (pos[0] - 1));
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = peek(s, pos);
            pos[0]++;
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos[0] + 4 > s.length()) {
                        throw new IllegalArgumentException("truncated \\u escape at offset " + pos[0]);
                    }
                    try {
                        sb.append((char) Integer.parseInt(s.substring(pos[0], pos[0] + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw new IllegalArgumentException("bad \\u escape at offset " + pos[0]);
                    }
                    pos[0] += 4;
                }
                default -> throw new IllegalArgumentException("bad escape '\\" + e + "' at offset " + (pos[0] - 1));
            }
        }
    }

    private static void expect(String s, int[] pos, char c) {
        if (peek(s, pos) != c) {
            throw new IllegalArgumentException("expected '" + c + "' at offset " + pos[0]);
        }
        pos[0]++;
    }

    private static char peek(String s, int[] pos) {
        if (pos[0] >= s.length()) {
            throw new IllegalArgumentException("the text ends early");
        }
        return s.charAt(pos[0]);
    }

    private static void skip(String s, int[] pos) {
        while (pos[0] < s.length() && " \t\r\n".indexOf(s.charAt(pos[0])) >= 0) {
            pos[0]++;
        }
    }
}
