package dev.tandem.train.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST: {@code *-idx3-ubyte} images (count × rows × cols
 * unsigned bytes) and {@code *-idx1-ubyte} labels (count unsigned bytes), gzipped or plain (recognised by the gzip
 * magic, not by the file name).
 *
 * <p>Files are untrusted: the magic (type 0x08, unsigned byte, with 3 or 1 dimensions), the dimensions and the
 * exact byte length the header declares are checked, nothing is allocated beyond the bytes actually present, and
 * every problem is a {@link DataFormatException} naming the file. Stateless; safe from any thread.
 */
public final class Idx {
    /** The most data bytes one IDX file may declare (the largest Java array). */
    static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private Idx() {
    }

    /** The contents of an images file: {@code count} images of {@code rows × cols} bytes, one after the other. */
    public record Images(int count, int rows, int cols, byte[] pixels) {
    }

    /** Reads an {@code idx3-ubyte} images file. */
    public static Images readImages(Path file) {
        return read(file, in -> readImages(file.toString(), in), null);
    }

    /** Reads an {@code idx1-ubyte} labels file: one unsigned byte per label. */
    public static byte[] readLabels(Path file) {
        return read(file, in -> readLabels(file.toString(), in), null);
    }

    /**
     * An images file and its labels file as one grey dataset.
     *
     * @param classes the class names; every label must index into it
     * @throws DataFormatException when either file is malformed, their counts differ or a label is out of range
     */
    public static ByteDataset dataset(Path images, Path labels, List<String> classes) {
        return dataset(readImages(images), images.toString(), readLabels(labels), labels.toString(), classes);
    }

    static ByteDataset dataset(Images img, String imagesName, byte[] labels, String labelsName,
                               List<String> classes) {
        if (img.count != labels.length) {
            throw new DataFormatException("The images file " + imagesName + " holds " + img.count
                    + " images but the labels file " + labelsName + " holds " + labels.length
                    + " labels; they must be a matching pair");
        }
        int[] lab = new int[labels.length];
        for (int i = 0; i < lab.length; i++) {
            lab[i] = labels[i] & 0xff;
            if (lab[i] >= classes.size()) {
                throw new DataFormatException("The labels file " + labelsName + " has label " + lab[i] + " at index "
                        + i + "; the " + classes.size() + " classes allow 0.." + (classes.size() - 1));
            }
        }
        return new ByteDataset(classes, 1, img.rows, img.cols, img.pixels, lab);
    }

    interface Reader<T> {
        T read(InputStream in) throws IOException;
    }

    /**
     * Opens {@code file}, reads it with {@code reader} and, when {@code digests} is given, records the SHA-256 of
     * the file's raw bytes there under its file name.
     */
    static <T> T read(Path file, Reader<T> reader, Map<String, String> digests) {
        try (InputStream raw = Files.newInputStream(file)) {
            return read(file.getFileName().toString(), raw, reader, digests);
        } catch (NoSuchFileException e) {
            throw new DataException("Data file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new DataException("Cannot read data file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads {@code raw} to its end with {@code reader}, recording its SHA-256 under {@code name} in digests. */
    static <T> T read(String name, InputStream raw, Reader<T> reader, Map<String, String> digests)
            throws IOException {
        MessageDigest md = Digests.sha256();
        InputStream in = new DigestInputStream(raw, md);
        T result = reader.read(in);
        in.transferTo(OutputStream.nullOutputStream());
        if (digests != null) {
            digests.put(name, Digests.hex(md.digest()));
        }
        return result;
    }

    /** Reads an images file from a stream (gzipped or plain) that {@code name} names in messages. */
    static Images readImages(String name, InputStream raw) throws IOException {
        InputStream in = decompressed(raw);
        long[] dims = header(name, in, 3);
        long size = dims[0] * dims[1] * dims[2];
        if (dims[1] == 0 || dims[2] == 0 || size > MAX_BYTES) {
            throw new DataFormatException("IDX file " + name + " declares " + dims[0] + " images of " + dims[1] + "x"
                    + dims[2] + " pixels; images must be non-empty and at most " + MAX_BYTES + " bytes in all");
        }
        byte[] pixels = body(name, in, size, dims[0] + " images of " + dims[1] + "x" + dims[2]);
        return new Images((int) dims[0], (int) dims[1], (int) dims[2], pixels);
    }

    /** Reads a labels file from a stream (gzipped or plain) that {@code name} names in messages. */
    static byte[] readLabels(String name, InputStream raw) throws IOException {
        InputStream in = decompressed(raw);
        long[] dims = header(name, in, 1);
        return body(name, in, dims[0], dims[0] + " labels");
    }

    private static InputStream decompressed(InputStream raw) throws IOException {
        InputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        return b0 == 0x1f && b1 == 0x8b ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in;
    }

    /** Reads the magic and the dimensions; each dimension is an unsigned 32-bit count. */
    private static long[] header(String name, InputStream in, int rank) throws IOException {
        byte[] h = readFully(name, in, 4, "header");
        if (h.length < 4) {
            throw new DataFormatException("IDX file " + name + " is truncated: " + h.length + " bytes, less than its "
                    + "4-byte magic number");
        }
        if (h[0] != 0 || h[1] != 0) {
            throw new DataFormatException(String.format("%s is not an IDX file: it starts with %02x %02x, not 00 00",
                    name, h[0], h[1]));
        }
        if (h[2] != 0x08) {
            throw new DataFormatException(String.format("IDX file %s holds data type 0x%02x; only unsigned bytes "
                    + "(0x08) are supported", name, h[2]));
        }
        if (h[3] != rank) {
            throw new DataFormatException("IDX file " + name + " has " + h[3] + " dimensions; expected " + rank
                    + (rank == 3 ? " (images: count, rows, cols)" : " (labels: count)")
                    + " — are the images and labels files swapped?");
        }
        h = readFully(name, in, 4L * rank, "header");
        if (h.length < 4 * rank) {
            throw new DataFormatException("IDX file " + name + " is truncated: its header ends after "
                    + (4 + h.length) + " of " + (4 + 4 * rank) + " bytes");
        }
        long[] dims = new long[rank];
        for (int d = 0; d < rank; d++) {
            int o = 4 * d;
            dims[d] = ((h[o] & 0xffL) << 24) | ((h[o + 1] & 0xff) << 16) | ((h[o + 2] & 0xff) << 8) | (h[o + 3] & 0xff);
        }
        if (dims[0] == 0) {
            throw new DataFormatException("IDX file " + name + " declares no items (count 0)");
        }
        return dims;
    }

    /** Reads exactly {@code size} data bytes and checks that nothing follows them. */
    private static byte[] body(String name, InputStream in, long size, String what) throws IOException {
        if (size > MAX_BYTES) {
            throw new DataFormatException("IDX file " + name + " declares " + what + ", more than the " + MAX_BYTES
                    + " bytes supported");
        }
        byte[] data = readFully(name, in, size, "data");
        if (data.length < size) {
            throw new DataFormatException("IDX file " + name + " is truncated: its header declares " + what + " ("
                    + size + " bytes) but only " + data.length + " follow");
        }
        if (readFully(name, in, 1, "data").length != 0) {
            throw new DataFormatException("IDX file " + name + " is longer than its header declares (" + what + ", "
                    + size + " bytes): extra bytes follow");
        }
        return data;
    }

    /** Up to {@code n} bytes (fewer at the end of the stream), allocating only what is actually read. */
    private static byte[] readFully(String name, InputStream in, long n, String part) throws IOException {
        try {
            return in.readNBytes((int) n);
        } catch (EOFException | ZipException e) {
            throw new DataFormatException("IDX file " + name + " is a corrupt or truncated gzip stream (in its " + part
                    + "): " + e.getMessage(), e);
        }
    }
}
