package dev.tandem.runtime.classify;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A PNG decoder in plain Java ({@code java.base} only), for runtimes without {@code java.desktop}: every colour
 * type and bit depth of the PNG specification, interlaced or not. Pixels come out as ImageIO's reader gives them to
 * {@link ImageSpec} (the tests compare the two on every kind): grey samples as stored, scaled to 8 bits; colour
 * through the palette; 16-bit samples rounded to 8 bits; alpha, transparency, gamma and colour profiles ignored.
 *
 * <p>Hostile files fail with an {@link ImageDecodeException}, never an out-of-memory: sizes are checked against
 * {@link ImageSpec#MAX_PIXELS} before anything is allocated, chunk lengths against the bytes present, every chunk's
 * CRC is verified, and decompression stops at the size the header implies. Stateless; thread-safe.
 */
final class PngDecoder {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /** Adam7 passes: first column, first row, column step, row step. */
    private static final int[][] ADAM7 = {
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

    private PngDecoder() {
    }

    /** Whether the bytes start with the PNG signature. */
    static boolean isPng(byte[] bytes) {
        if (bytes.length < SIGNATURE.length) {
            return false;
        }
        for (int i = 0; i < SIGNATURE.length; i++) {
            if (bytes[i] != SIGNATURE[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Decodes a PNG file's bytes.
     *
     * @param what names the bytes in messages ("'shoe.png'", "The image bytes")
     * @throws ImageDecodeException naming {@code what} and the fault when the bytes are not a valid PNG image
     */
    static RgbImage decode(byte[] bytes, String what) {
        if (!isPng(bytes)) {
            throw new ImageDecodeException(what + " is not a PNG file (no PNG signature)");
        }
        int pos = SIGNATURE.length;
        Header h = null;
        int[] palette = null;
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        boolean ended = false;
        CRC32 crc = new CRC32();
        while (!ended) {
            if (pos + 12 > bytes.length) {
                if (h != null && idat.size() > 0) {
                    break; // no IEND: decode what is there, as lenient readers do
                }
                throw new ImageDecodeException(what + " is a truncated PNG (it ends inside a chunk header)");
            }
            int length = readInt(bytes, pos);
            String type = new String(bytes, pos + 4, 4, StandardCharsets.ISO_8859_1);
            if (length < 0 || length > bytes.length - pos - 12) {
                throw new ImageDecodeException(what + " is a truncated or corrupt PNG (chunk '" + printable(type)
                        + "' declares " + Integer.toUnsignedString(length) + " bytes; " + (bytes.length - pos - 12)
                        + " remain)");
            }
            crc.reset();
            crc.update(bytes, pos + 4, length + 4);
            if ((int) crc.getValue() != readInt(bytes, pos + 8 + length)) {
                throw new ImageDecodeException(what + " is a corrupt PNG (CRC mismatch in chunk '" + printable(type)
                        + "')");
            }
            int data = pos + 8;
            if (h == null && !type.equals("IHDR")) {
                throw new ImageDecodeException(what + " is a corrupt PNG (the first chunk is '" + printable(type)
                        + "', not IHDR)");
            }
            switch (type) {
                case "IHDR" -> {
                    if (h != null) {
                        throw new ImageDecodeException(what + " is a corrupt PNG (two IHDR chunks)");
                    }
                    h = Header.read(bytes, data, length, what);
                }
                case "PLTE" -> palette = readPalette(bytes, data, length, h, what);
                case "IDAT" -> idat.write(bytes, data, length);
                case "IEND" -> ended = true;
                default -> {
                    // Ancillary chunks (lower-case first letter: gAMA, tRNS, iCCP, text...) are skipped; a critical
                    // one Tandem does not know changes what the image means.
                    if (Character.isUpperCase(type.charAt(0))) {
                        throw new ImageDecodeException(what + " uses the PNG chunk '" + printable(type)
                                + "', which Tandem cannot decode");
                    }
                }
            }
            pos = data + length + 4;
        }
        if (h.colorType == 3 && palette == null) {
            throw new ImageDecodeException(what + " is a corrupt PNG (a palette image without a PLTE chunk)");
        }
        if (idat.size() == 0) {
            throw new ImageDecodeException(what + " is a corrupt PNG (no image data)");
        }
        return pixels(h, palette, idat.toByteArray(), what);
    }

    /** The IHDR fields that matter, validated. */
    private record Header(int width, int height, int bitDepth, int colorType, boolean interlaced) {
        static Header read(byte[] b, int p, int length, String what) {
            if (length != 13) {
                throw new ImageDecodeException(what + " is a corrupt PNG (IHDR of " + length + " bytes, not 13)");
            }
            int w = readInt(b, p);
            int h = readInt(b, p + 4);
            int depth = b[p + 8] & 0xff;
            int type = b[p + 9] & 0xff;
            if (w < 1 || h < 1) {
                throw new ImageDecodeException(what + " is a corrupt PNG (size " + Integer.toUnsignedString(w) + "x"
                        + Integer.toUnsignedString(h) + ")");
            }
            if ((long) w * h > ImageSpec.MAX_PIXELS) {
                throw new ImageDecodeException("The image " + what + " is " + w + "x" + h + " pixels; at most "
                        + ImageSpec.MAX_PIXELS + " are accepted");
            }
            boolean ok = switch (type) {
                case 0 -> depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
                case 3 -> depth == 1 || depth == 2 || depth == 4 || depth == 8;
                case 2, 4, 6 -> depth == 8 || depth == 16;
                default -> false;
            };
            if (!ok) {
                throw new ImageDecodeException(what + " is a corrupt PNG (colour type " + type + " with bit depth "
                        + depth + " does not exist)");
            }
            if (b[p + 10] != 0 || b[p + 11] != 0 || (b[p + 12] & 0xff) > 1) {
                throw new ImageDecodeException(what + " is a corrupt PNG (unknown compression, filter or interlace "
                        + "method)");
            }
            return new Header(w, h, depth, type, b[p + 12] == 1);
        }

        int channels() {
            return switch (colorType) {
                case 2 -> 3;
                case 4 -> 2;
                case 6 -> 4;
                default -> 1;
            };
        }
    }

    private static int[] readPalette(byte[] b, int p, int length, Header h, String what) {
        if (length % 3 != 0 || length == 0 || length > 256 * 3) {
            throw new ImageDecodeException(what + " is a corrupt PNG (PLTE of " + length + " bytes)");
        }
        // Entries past the palette's end read as black, as ImageIO gives them.
        int[] pal = new int[256];
        for (int i = 0; i < length / 3; i++) {
            pal[i] = (b[p + 3 * i] & 0xff) << 16 | (b[p + 3 * i + 1] & 0xff) << 8 | (b[p + 3 * i + 2] & 0xff);
        }
        return pal;
    }

    private static RgbImage pixels(Header h, int[] palette, byte[] compressed, String what) {
        int width = h.width();
        int bitsPerPixel = h.channels() * h.bitDepth();
        int bpp = Math.max(1, bitsPerPixel / 8);
        int[][] passes = h.interlaced() ? ADAM7 : new int[][] {{0, 0, 1, 1}};
        long raw = 0;
        for (int[] pass : passes) {
            long pw = (width - pass[0] + pass[2] - 1) / pass[2];
            long ph = (h.height() - pass[1] + pass[3] - 1) / pass[3];
            if (pw > 0 && ph > 0) {
                raw += ph * (1 + (pw * bitsPerPixel + 7) / 8);
            }
        }
        // Deflate expands at most about 1032 times: a small file claiming a large image is refused before the
        // pixels are allocated.
        if (raw > compressed.length * 1032L + 1024) {
            throw new ImageDecodeException(what + " is a truncated PNG (" + h.width() + "x" + h.height() + " needs "
                    + raw + " bytes of image data; " + compressed.length + " compressed bytes cannot hold them)");
        }
        int[] out = new int[width * h.height()];
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(compressed);
            for (int[] pass : passes) {
                int pw = (width - pass[0] + pass[2] - 1) / pass[2];
                int ph = (h.height() - pass[1] + pass[3] - 1) / pass[3];
                if (pw <= 0 || ph <= 0) {
                    continue;
                }
                int rowBytes = (int) (((long) pw * bitsPerPixel + 7) / 8);
                byte[] prev = new byte[rowBytes];
                byte[] cur = new byte[rowBytes];
                byte[] filter = new byte[1];
                for (int y = 0; y < ph; y++) {
                    inflate(inflater, filter, what);
                    inflate(inflater, cur, what);
                    unfilter(filter[0] & 0xff, cur, prev, bpp, what);
                    int row = pass[1] + y * pass[3];
                    for (int x = 0; x < pw; x++) {
                        out[row * width + pass[0] + x * pass[2]] = pixel(h, palette, cur, x);
                    }
                    byte[] t = prev;
                    prev = cur;
                    cur = t;
                }
            }
        } finally {
            inflater.end();
        }
        return new RgbImage(width, h.height(), out);
    }

    /** Fills {@code dst} from the inflater, or fails naming what is wrong with the compressed data. */
    private static void inflate(Inflater inflater, byte[] dst, String what) {
        int n = 0;
        try {
            while (n < dst.length) {
                int got = inflater.inflate(dst, n, dst.length - n);
                if (got == 0) {
                    throw new ImageDecodeException(what + (inflater.needsDictionary()
                            ? " is a corrupt PNG (its image data needs a dictionary)"
                            : " is a truncated PNG (its image data ends early)"));
                }
                n += got;
            }
        } catch (DataFormatException e) {
            throw new ImageDecodeException(what + " is a corrupt PNG (bad compressed data: " + e.getMessage() + ")");
        }
    }

    private static void unfilter(int type, byte[] cur, byte[] prev, int bpp, String what) {
        int n = cur.length;
        switch (type) {
            case 0 -> {
            }
            case 1 -> {
                for (int i = bpp; i < n; i++) {
                    cur[i] += cur[i - bpp];
                }
            }
            case 2 -> {
                for (int i = 0; i < n; i++) {
                    cur[i] += prev[i];
                }
            }
            case 3 -> {
                for (int i = 0; i < n; i++) {
                    int left = i >= bpp ? cur[i - bpp] & 0xff : 0;
                    cur[i] += (byte) ((left + (prev[i] & 0xff)) >>> 1);
                }
            }
            case 4 -> {
                for (int i = 0; i < n; i++) {
                    int a = i >= bpp ? cur[i - bpp] & 0xff : 0;
                    int b = prev[i] & 0xff;
                    int c = i >= bpp ? prev[i - bpp] & 0xff : 0;
                    int p = a + b - c;
                    int pa = Math.abs(p - a);
                    int pb = Math.abs(p - b);
                    int pc = Math.abs(p - c);
                    cur[i] += (byte) (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }
            }
            default -> throw new ImageDecodeException(what + " is a corrupt PNG (row filter type " + type + ")");
        }
    }

    /** Pixel {@code x} of an unfiltered row as {@code 0xRRGGBB}. */
    private static int pixel(Header h, int[] palette, byte[] row, int x) {
        int depth = h.bitDepth();
        if (depth < 8) {
            int bit = x * depth;
            int mask = (1 << depth) - 1;
            int s = (row[bit >>> 3] >>> (8 - depth - (bit & 7))) & mask;
            if (h.colorType() == 3) {
                return palette[s];
            }
            int v = s * 255 / mask;
            return v << 16 | v << 8 | v;
        }
        int ch = h.channels();
        if (depth == 8) {
            int i = x * ch;
            return switch (h.colorType()) {
                case 3 -> palette[row[i] & 0xff];
                case 0, 4 -> gray(row[i] & 0xff);
                default -> (row[i] & 0xff) << 16 | (row[i + 1] & 0xff) << 8 | (row[i + 2] & 0xff);
            };
        }
        int i = x * ch * 2;
        if (h.colorType() == 0 || h.colorType() == 4) {
            return gray(to8(row, i));
        }
        return to8(row, i) << 16 | to8(row, i + 2) << 8 | to8(row, i + 4);
    }

    /** A 16-bit sample rounded to 8 bits: {@code round(v · 255 / 65535)}, as ImageIO's colour models round it. */
    private static int to8(byte[] row, int i) {
        int v = (row[i] & 0xff) << 8 | (row[i + 1] & 0xff);
        return (v * 255 + 32767) / 65535;
    }

    private static int gray(int v) {
        return v << 16 | v << 8 | v;
    }

    private static int readInt(byte[] b, int p) {
        return (b[p] & 0xff) << 24 | (b[p + 1] & 0xff) << 16 | (b[p + 2] & 0xff) << 8 | (b[p + 3] & 0xff);
    }

    private static String printable(String type) {
        StringBuilder sb = new StringBuilder();
        for (char c : type.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
