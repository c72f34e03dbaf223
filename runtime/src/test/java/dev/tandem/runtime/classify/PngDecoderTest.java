package dev.tandem.runtime.classify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Tandem's PNG decoder gives the pixels ImageIO's reader gives the classifier, on every colour type, bit depth and
 * interlacing, and turns every malformed file into an ImageDecodeException.
 */
class PngDecoderTest {
    private static final int[][] KINDS = {
        {0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1}, {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16},
        {6, 8}, {6, 16}};

    private static int[] viaImageIo(byte[] png) throws Exception {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        return AwtImages.toRgb(img).pixels();
    }

    private static int[] viaTandem(byte[] png) {
        return PngDecoder.decode(png, "the test PNG").pixels();
    }

    /** Equal pixels, or the first difference (a whole-array diff of 65536 pixels helps nobody). */
    private static void assertSamePixels(String what, byte[] png) throws Exception {
        int[] want = viaImageIo(png);
        int[] got = viaTandem(png);
        assertThat(got.length).as(what).isEqualTo(want.length);
        for (int i = 0; i < want.length; i++) {
            if (got[i] != want[i]) {
                assertThat(Integer.toHexString(got[i])).as(what + ", pixel " + i).isEqualTo(Integer.toHexString(want[i]));
            }
        }
    }

    private static byte[] random(SplittableRandom r, int w, int h, int colorType, int depth, boolean interlaced,
                                 boolean withTrns) {
        int channels = colorType == 2 ? 3 : colorType == 4 ? 2 : colorType == 6 ? 4 : 1;
        int[] samples = new int[w * h * channels];
        int max = colorType == 3 ? Math.min((1 << depth) - 1, 6) : (1 << depth) - 1;
        for (int i = 0; i < samples.length; i++) {
            // Extremes often: 0, max and values next to the 16-bit rounding edges.
            int pick = r.nextInt(8);
            samples[i] = pick == 0 ? 0 : pick == 1 ? max : r.nextInt(max + 1);
        }
        byte[] palette = null;
        if (colorType == 3) {
            // Six entries: indices 6 and up (possible from 4 bits) fall off the end.
            palette = new byte[6 * 3];
            for (int i = 0; i < palette.length; i++) {
                palette[i] = (byte) r.nextInt(256);
            }
        }
        byte[] trns = null;
        if (withTrns) {
            trns = switch (colorType) {
                case 0 -> new byte[] {0, 1};
                case 2 -> new byte[] {0, 1, 0, 2, 0, 3};
                case 3 -> new byte[] {0, (byte) 128};
                default -> null;
            };
        }
        return PngTestWriter.write(w, h, depth, colorType, interlaced, samples, palette, trns);
    }

    @Test
    void everyColourTypeBitDepthAndInterlaceDecodesAsImageIoDoes() throws Exception {
        SplittableRandom r = new SplittableRandom(6);
        int[][] sizes = {{1, 1}, {3, 5}, {9, 2}, {17, 11}};
        for (int[] kind : KINDS) {
            for (boolean interlaced : new boolean[] {false, true}) {
                for (int[] size : sizes) {
                    for (boolean trns : new boolean[] {false, true}) {
                        byte[] png = random(r, size[0], size[1], kind[0], kind[1], interlaced, trns);
                        String what = "type " + kind[0] + " depth " + kind[1] + (interlaced ? " interlaced " : " ")
                                + size[0] + "x" + size[1] + (trns ? " tRNS" : "");
                        assertSamePixels(what, png);
                    }
                }
            }
        }
    }

    @Test
    void everySixteenBitValueRoundsAsImageIoRoundsIt() throws Exception {
        int[] samples = new int[256 * 256 * 3];
        for (int v = 0; v < 65536; v++) {
            samples[3 * v] = v;
            samples[3 * v + 1] = 65535 - v;
            samples[3 * v + 2] = (v * 7) & 0xffff;
        }
        byte[] png = PngTestWriter.write(256, 256, 16, 2, false, samples, null, null);
        assertSamePixels("16-bit RGB", png);
    }

    @Test
    void imagesImageIoWritesDecodeTheSame() throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        for (int type : new int[] {BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_INT_ARGB,
            BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_BINARY,
            BufferedImage.TYPE_BYTE_INDEXED, BufferedImage.TYPE_3BYTE_BGR}) {
            BufferedImage img = new BufferedImage(37, 23, type);
            for (int y = 0; y < 23; y++) {
                for (int x = 0; x < 37; x++) {
                    img.setRGB(x, y, r.nextInt() | (x % 3 == 0 ? 0xff000000 : 0));
                }
            }
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            assertThat(ImageIO.write(img, "png", png)).isTrue();
            assertSamePixels("BufferedImage type " + type, png.toByteArray());
        }
    }

    @Test
    void everyTruncationFailsWithAnImageDecodeException() throws Exception {
        byte[] png = random(new SplittableRandom(8), 9, 7, 6, 8, true, false);
        int decoded = 0;
        for (int n = 0; n < png.length; n++) {
            byte[] cut = Arrays.copyOf(png, n);
            try {
                viaTandem(cut);
                decoded++; // only possible once IDAT is whole and just IEND is missing
            } catch (ImageDecodeException e) {
                assertThat(e.getMessage()).contains("the test PNG");
            }
        }
        assertThat(decoded).isLessThanOrEqualTo(12);
    }

    @Test
    void flippedBytesFailWithAnImageDecodeExceptionNeverAnotherError() {
        byte[] png = random(new SplittableRandom(9), 12, 10, 2, 8, false, false);
        SplittableRandom r = new SplittableRandom(10);
        for (int i = 0; i < 2000; i++) {
            byte[] bad = png.clone();
            int at = 8 + r.nextInt(png.length - 8);
            bad[at] ^= (byte) (1 << r.nextInt(8));
            assertThatThrownBy(() -> viaTandem(bad)).as("byte %d", at).isInstanceOf(ImageDecodeException.class);
        }
    }

    @Test
    void corruptDataUnderValidChecksumsNeverEscapesAsAnotherError() {
        byte[] png = random(new SplittableRandom(11), 12, 10, 6, 16, true, false);
        SplittableRandom r = new SplittableRandom(12);
        int failed = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] bad = png.clone();
            for (int k = 0; k < 1 + r.nextInt(3); k++) {
                bad[8 + r.nextInt(png.length - 8)] ^= (byte) (1 << r.nextInt(8));
            }
            fixChecksums(bad);
            try {
                viaTandem(bad);
            } catch (ImageDecodeException e) {
                failed++;
            }
        }
        assertThat(failed).isGreaterThan(100);
    }

    /** Recomputes every chunk's CRC, so that corruption reaches the header and data checks behind it. */
    private static void fixChecksums(byte[] png) {
        int pos = 8;
        while (pos + 12 <= png.length) {
            int length = (png[pos] & 0xff) << 24 | (png[pos + 1] & 0xff) << 16 | (png[pos + 2] & 0xff) << 8
                    | (png[pos + 3] & 0xff);
            if (length < 0 || length > png.length - pos - 12) {
                return;
            }
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(png, pos + 4, length + 4);
            PngTestWriter.putInt(png, pos + 8 + length, (int) crc.getValue());
            pos += 12 + length;
        }
    }

    private static byte[] withHeader(int w, int h, int depth, int type, int interlace) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] ihdr = new byte[13];
        PngTestWriter.putInt(ihdr, 0, w);
        PngTestWriter.putInt(ihdr, 4, h);
        ihdr[8] = (byte) depth;
        ihdr[9] = (byte) type;
        ihdr[12] = (byte) interlace;
        PngTestWriter.chunk(png, "IHDR", ihdr);
        PngTestWriter.chunk(png, "IDAT", PngTestWriter.deflate(new byte[] {0, 0}));
        PngTestWriter.chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    @Test
    void malformedHeadersAndChunksAreNamed() {
        assertThatThrownBy(() -> viaTandem("GIF89a....".getBytes())).hasMessageContaining("no PNG signature");
        assertThatThrownBy(() -> viaTandem(withHeader(100_000, 100_000, 8, 0, 0)))
                .isInstanceOf(ImageDecodeException.class).hasMessageContaining("100000x100000 pixels; at most 67108864");
        assertThatThrownBy(() -> viaTandem(withHeader(0, 5, 8, 0, 0))).hasMessageContaining("size 0x5");
        assertThatThrownBy(() -> viaTandem(withHeader(-1, 5, 8, 0, 0))).hasMessageContaining("size 4294967295x5");
        assertThatThrownBy(() -> viaTandem(withHeader(1, 1, 16, 3, 0)))
                .hasMessageContaining("colour type 3 with bit depth 16 does not exist");
        assertThatThrownBy(() -> viaTandem(withHeader(1, 1, 8, 5, 0)))
                .hasMessageContaining("colour type 5 with bit depth 8");
        assertThatThrownBy(() -> viaTandem(withHeader(1, 1, 8, 0, 2))).hasMessageContaining("interlace");
        assertThatThrownBy(() -> viaTandem(withHeader(1, 1, 8, 3, 0))).hasMessageContaining("without a PLTE");
        assertThatThrownBy(() -> viaTandem(withHeader(8000, 8000, 16, 6, 1)))
                .hasMessageContaining("8000x8000 needs 512015000 bytes of image data").hasMessageContaining("cannot hold");
        // 1x1 grey: filter byte 0 and one sample, so the 2 bytes given decode; 2x2 needs more.
        assertThat(viaTandem(withHeader(1, 1, 8, 0, 0))).containsExactly(0);
        assertThatThrownBy(() -> viaTandem(withHeader(2, 2, 8, 0, 0))).hasMessageContaining("image data ends early");

        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(Arrays.copyOf(withHeader(1, 1, 8, 0, 0), 33)); // signature + IHDR
        PngTestWriter.chunk(png, "ABCD", new byte[] {1});
        assertThatThrownBy(() -> viaTandem(png.toByteArray())).hasMessageContaining("chunk 'ABCD'");

        ByteArrayOutputStream filt = new ByteArrayOutputStream();
        filt.writeBytes(Arrays.copyOf(withHeader(1, 1, 8, 0, 0), 33));
        PngTestWriter.chunk(filt, "IDAT", PngTestWriter.deflate(new byte[] {9, 0}));
        assertThatThrownBy(() -> viaTandem(filt.toByteArray())).hasMessageContaining("row filter type 9");

        byte[] crc = withHeader(1, 1, 8, 0, 0);
        crc[30] ^= 1;
        assertThatThrownBy(() -> viaTandem(crc)).hasMessageContaining("CRC mismatch in chunk 'IHDR'");
    }
}
