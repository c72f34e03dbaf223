package dev.tandem.runtime.classify;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes PNG files of any colour type and bit depth, interlaced or not, with every row filter in turn: the test
 * side of {@link PngDecoder}, kept obvious (whole image in memory, one IDAT split in two).
 */
final class PngTestWriter {
    private static final int[][] ADAM7 = {
        {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

    private PngTestWriter() {
    }

    /**
     * @param samples per pixel, {@code channels} samples of {@code depth} bits each (palette indices for type 3),
     *                row-major
     * @param palette RGB triples for colour type 3 (else null)
     * @param trns    a tRNS chunk's bytes, or null
     */
    static byte[] write(int width, int height, int depth, int colorType, boolean interlaced, int[] samples,
                        byte[] palette, byte[] trns) {
        int channels = switch (colorType) {
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> 1;
        };
        int bitsPerPixel = channels * depth;
        int bpp = Math.max(1, bitsPerPixel / 8);
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        int[][] passes = interlaced ? ADAM7 : new int[][] {{0, 0, 1, 1}};
        int rowIndex = 0;
        for (int[] pass : passes) {
            int pw = (width - pass[0] + pass[2] - 1) / pass[2];
            int ph = (height - pass[1] + pass[3] - 1) / pass[3];
            if (pw <= 0 || ph <= 0) {
                continue;
            }
            int rowBytes = (pw * bitsPerPixel + 7) / 8;
            byte[] prev = new byte[rowBytes];
            for (int y = 0; y < ph; y++) {
                byte[] row = new byte[rowBytes];
                for (int x = 0; x < pw; x++) {
                    int px = (pass[1] + y * pass[3]) * width + pass[0] + x * pass[2];
                    for (int c = 0; c < channels; c++) {
                        put(row, (x * channels + c) * depth, depth, samples[px * channels + c]);
                    }
                }
                int filter = rowIndex++ % 5;
                raw.write(filter);
                raw.writeBytes(filter(filter, row, prev, bpp));
                prev = row;
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = (byte) depth;
        ihdr[9] = (byte) colorType;
        ihdr[12] = (byte) (interlaced ? 1 : 0);
        chunk(png, "IHDR", ihdr);
        chunk(png, "gAMA", new byte[] {0, 0, (byte) 0xb1, (byte) 0x8f});
        if (palette != null) {
            chunk(png, "PLTE", palette);
        }
        if (trns != null) {
            chunk(png, "tRNS", trns);
        }
        byte[] z = deflate(raw.toByteArray());
        int half = z.length / 2;
        chunk(png, "IDAT", java.util.Arrays.copyOfRange(z, 0, half));
        chunk(png, "IDAT", java.util.Arrays.copyOfRange(z, half, z.length));
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] head = new byte[8];
        putInt(head, 0, data.length);
        System.arraycopy(type.getBytes(StandardCharsets.ISO_8859_1), 0, head, 4, 4);
        out.writeBytes(head);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(head, 4, 4);
        crc.update(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        out.writeBytes(c);
    }

    static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    private static void put(byte[] row, int bit, int depth, int v) {
        if (depth == 16) {
            row[bit / 8] = (byte) (v >>> 8);
            row[bit / 8 + 1] = (byte) v;
        } else if (depth == 8) {
            row[bit / 8] = (byte) v;
        } else {
            row[bit / 8] |= (byte) (v << (8 - depth - bit % 8));
        }
    }

    private static byte[] filter(int type, byte[] row, byte[] prev, int bpp) {
        byte[] f = new byte[row.length];
        for (int i = 0; i < row.length; i++) {
            int a = i >= bpp ? row[i - bpp] & 0xff : 0;
            int b = prev[i] & 0xff;
            int c = i >= bpp ? prev[i - bpp] & 0xff : 0;
            int pred = switch (type) {
                case 1 -> a;
                case 2 -> b;
                case 3 -> (a + b) / 2;
                case 4 -> {
                    int p = a + b - c;
                    int pa = Math.abs(p - a);
                    int pb = Math.abs(p - b);
                    int pc = Math.abs(p - c);
                    yield pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                }
                default -> 0;
            };
            f[i] = (byte) (row[i] - pred);
        }
        return f;
    }

    static void putInt(byte[] b, int p, int v) {
        b[p] = (byte) (v >>> 24);
        b[p + 1] = (byte) (v >>> 16);
        b[p + 2] = (byte) (v >>> 8);
        b[p + 3] = (byte) v;
    }
}
