package dev.tandem.runtime.io;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0) as {@link Tensor}s.
 *
 * <p>Supported element types: {@code <f4} (float32), {@code <f8} (float64), {@code <i8} (int64), {@code <i4}
 * (int32), {@code |u1} (uint8), {@code |i1} (int8) and {@code |b1} (bool); little-endian, C (row-major) order.
 * Fortran-order arrays, big-endian data and other types are refused with a {@link NpyFormatException}.
 *
 * <p>Files are untrusted: the header is parsed strictly and the data size it declares is checked against the
 * bytes actually present before anything is allocated for it. Every error is an {@link NpyFormatException}
 * naming the file.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Headers longer than this are refused (NumPy itself writes a few hundred bytes at most). */
    private static final int MAX_HEADER = 1 << 20;

    private Npy() {
    }

    /** Reads a {@code .npy} file into a new tensor the caller owns. */
    public static Tensor read(Path file) {
        String what = "'" + file + "'";
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = ByteBuffer.allocate((int) Math.min(12, size)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, pre, 0, what);
            pre.flip();
            int[] lenInfo = preamble(pre, size, what);
            int headerStart = lenInfo[0];
            int headerLen = lenInfo[1];
            if (headerStart + (long) headerLen > size) {
                throw new NpyFormatException(what + " is truncated: its header declares " + headerLen
                        + " bytes but the file has only " + (size - headerStart) + " after the preamble");
            }
            ByteBuffer hb = ByteBuffer.allocate(headerLen);
            readFully(ch, hb, headerStart, what);
            Header h = parseHeader(new String(hb.array(), StandardCharsets.UTF_8), what);
            long dataStart = headerStart + (long) headerLen;
            checkDataSize(h, size - dataStart, what);
            Tensor t = Tensor.allocate(h.dtype, h.shape);
            try {
                long bytes = h.shape.size() * h.dtype.byteSize();
                // In chunks: a ByteBuffer addresses at most 2 GiB.
                for (long done = 0; done < bytes; done += 1L << 30) {
                    long n = Math.min(bytes - done, 1L << 30);
                    readFully(ch, t.segment().asSlice(done, n).asByteBuffer(), dataStart + done, what);
                }
                return t;
            } catch (RuntimeException | IOException e) {
                t.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new NpyFormatException("File not found: " + file);
        } catch (IOException e) {
            throw new NpyFormatException("Cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    /** Reads {@code .npy} content from bytes; {@code name} names the source in error messages. */
    public static Tensor read(byte[] bytes, String name) {
        String what = "'" + name + "'";
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int[] lenInfo = preamble(b.duplicate().order(ByteOrder.LITTLE_ENDIAN), bytes.length, what);
        int headerStart = lenInfo[0];
        int headerLen = lenInfo[1];
        if (headerStart + (long) headerLen > bytes.length) {
            throw new NpyFormatException(what + " is truncated: its header declares " + headerLen
                    + " bytes but only " + (bytes.length - headerStart) + " follow the preamble");
        }
        Header h = parseHeader(new String(bytes, headerStart, headerLen, StandardCharsets.UTF_8), what);
        int dataStart = headerStart + headerLen;
        checkDataSize(h, bytes.length - dataStart, what);
        Tensor t = Tensor.allocate(h.dtype, h.shape);
        long n = h.shape.size() * h.dtype.byteSize();
        MemorySegment.copy(MemorySegment.ofArray(bytes), dataStart, t.segment(), 0, n);
        return t;
    }

    /** Writes a tensor as a {@code .npy} file (version 1.0 unless the header needs 2.0), replacing any file. */
    public static void write(Path file, Tensor t) {
        try {
            Files.write(file, toBytes(t));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write '" + file + "': " + e.getMessage(), e);
        }
    }

    /** The {@code .npy} encoding of a tensor (C order, little-endian). */
    public static byte[] toBytes(Tensor t) {
        StringBuilder shape = new StringBuilder("(");
        int[] dims = t.shape().dims();
        for (int i = 0; i < dims.length; i++) {
            shape.append(dims[i]).append(dims.length == 1 ? "," : i + 1 < dims.length ? ", " : "");
        }
        shape.append(')');
        String dict = "{'descr': '" + descr(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
        // Preamble (magic 6 + version 2 + length 2 or 4) plus header, padded with spaces to a multiple of 64, '\n'.
        boolean v2 = dict.length() + 1 + 10 > 65535;
        int pre = v2 ? 12 : 10;
        int total = pre + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        String header = dict + " ".repeat(padded - total) + "\n";
        byte[] hb = header.getBytes(StandardCharsets.US_ASCII);
        long dataBytes = t.size() * t.dtype().byteSize();
        byte[] out = new byte[Math.toIntExact(pre + hb.length + dataBytes)];
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) (v2 ? 2 : 1)).put((byte) 0);
        if (v2) {
            b.putInt(hb.length);
        } else {
            b.putShort((short) hb.length);
        }
        b.put(hb);
        Tensor c = t.contiguous();
        try {
            MemorySegment.copy(c.segment(), c.offset() * t.dtype().byteSize(), MemorySegment.ofArray(out),
                    pre + hb.length, dataBytes);
        } finally {
            if (c != t) {
                c.close();
            }
        }
        return out;
    }

    /** The NumPy type string Tandem writes for a type. */
    public static String descr(DType t) {
        return switch (t) {
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case INT64 -> "<i8";
            case INT32 -> "<i4";
            case UINT8 -> "|u1";
            case INT8 -> "|i1";
            case BOOL -> "|b1";
        };
    }

    private record Header(DType dtype, Shape shape) {
    }

    /** Checks magic and version; returns {header start, header length}. {@code b} holds the first bytes. */
    private static int[] preamble(ByteBuffer b, long size, String what) {
        if (size < 10) {
            throw new NpyFormatException(what + " is not a .npy file: only " + size + " bytes");
        }
        for (byte m : MAGIC) {
            if (b.get() != m) {
                throw new NpyFormatException(what + " is not a .npy file (no \\x93NUMPY magic at the start)");
            }
        }
        int major = b.get() & 0xff;
        int minor = b.get() & 0xff;
        long len;
        int start;
        if (major == 1) {
            len = b.getShort() & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (size < 12) {
                throw new NpyFormatException(what + " is truncated inside its version " + major + " preamble");
            }
            len = b.getInt() & 0xffffffffL;
            start = 12;
        } else {
            throw new NpyFormatException(what + " uses .npy format version " + major + "." + minor
                    + "; Tandem reads 1.0, 2.0 and 3.0");
        }
        if (len > MAX_HEADER) {
            throw new NpyFormatException(what + " declares a header of " + len + " bytes; at most " + MAX_HEADER
                    + " are accepted");
        }
        return new int[] {start, (int) len};
    }

    private static void checkDataSize(Header h, long available, String what) {
        long need = h.shape.size() * h.dtype.byteSize();
        if (available < need) {
            throw new NpyFormatException(what + " is truncated: " + descr(h.dtype) + " " + h.shape + " needs " + need
                    + " bytes of data but the file holds " + available);
        }
        if (available > need) {
            throw new NpyFormatException(what + " has " + (available - need) + " bytes after the " + need
                    + " bytes of data its header declares (" + descr(h.dtype) + " " + h.shape + ")");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos, String what) throws IOException {
        while (dst.hasRemaining()) {
            int r = ch.read(dst, pos);
            if (r < 0) {
                throw new NpyFormatException(what + " ended early (truncated)");
            }
            pos += r;
        }
    }

    // ---- header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

    private static Header parseHeader(String text, String what) {
        Map<String, Object> dict;
        try {
            Parser p = new Parser(text.strip());
            dict = p.dict();
            p.end();
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(what + " has a corrupt header (" + e.getMessage() + "): "
                    + abbreviate(text));
        }
        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shape = dict.get("shape");
        if (!(descr instanceof String d)) {
            throw new NpyFormatException(what + " has no 'descr' string in its header (structured arrays are not"
                    + " supported): " + abbreviate(text));
        }
        if (!(fortran instanceof Boolean f)) {
            throw new NpyFormatException(what + " has no 'fortran_order' True/False in its header");
        }
        if (!(shape instanceof List<?> dims)) {
            throw new NpyFormatException(what + " has no 'shape' tuple in its header");
        }
        if (f) {
            throw new NpyFormatException(what + " is stored in Fortran (column-major) order; save it in C order,"
                    + " e.g. numpy.save(path, numpy.ascontiguousarray(a))");
        }
        DType dtype = dtypeOf(d, what);
        int[] ds = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < ds.length; i++) {
            long v = (Long) dims.get(i);
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw new NpyFormatException(what + " declares invalid dimension " + v + " at axis " + i);
            }
            ds[i] = (int) v;
            count *= v;
            if (count > Integer.MAX_VALUE) {
                throw new NpyFormatException(what + " declares shape " + dims + ": more than " + Integer.MAX_VALUE
                        + " elements");
            }
        }
        return new Header(dtype, Shape.of(ds));
    }

    private static DType dtypeOf(String d, String what) {
        String norm = d.length() == 3 && d.charAt(0) == '=' ? "<" + d.substring(1) : d;
        return switch (norm) {
            case "<f4" -> DType.FLOAT32;
            case "<f8" -> DType.FLOAT64;
            case "<i8" -> DType.INT64;
            case "<i4" -> DType.INT32;
            case "|u1", "<u1", "u1" -> DType.UINT8;
            case "|i1", "<i1", "i1" -> DType.INT8;
            case "|b1", "<b1", "b1" -> DType.BOOL;
            default -> throw new NpyFormatException(what + " holds '" + d + "' data"
                    + (d.startsWith(">") ? " (big-endian)" : "")
                    + "; Tandem reads <f4, <f8, <i8, <i4, |u1, |i1 and |b1 (little-endian)");
        };
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() <= 120 ? t : t.substring(0, 120) + "...";
    }

    /** A strict parser for the subset of Python literals .npy headers use. */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        Map<String, Object> dict() {
            expect('{');
            Map<String, Object> m = new LinkedHashMap<>();
            while (true) {
                skip();
                if (peek() == '}') {
                    i++;
                    return m;
                }
                String key = string();
                skip();
                expect(':');
                Object v = value();
                if (m.put(key, v) != null) {
                    throw new IllegalArgumentException("key '" + key + "' appears twice");
                }
                skip();
                if (peek() == ',') {
                    i++;
                } else if (peek() != '}') {
                    throw new IllegalArgumentException("expected ',' or '}' at offset " + i);
                }
            }
        }

        Object value() {
            skip();
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            if (c == '[' || c == '{') {
                throw new IllegalArgumentException("nested list or dict values are not supported");
            }
            return integer();
        }

        List<Long> tuple() {
            expect('(');
            List<Long> out = new ArrayList<>();
            while (true) {
                skip();
                if (peek() == ')') {
                    i++;
                    return out;
                }
                out.add(integer());
                skip();
                if (peek() == ',') {
                    i++;
                } else if (peek() != ')') {
                    throw new IllegalArgumentException("expected ',' or ')' in the shape at offset " + i);
                }
            }
        }

        long integer() {
            skip();
            int start = i;
            if (i < s.length() && s.charAt(i) == '-') {
                i++;
            }
            while (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
            }
            // A trailing 'L' (Python 2 longs) is accepted.
            String digits = s.substring(start, i);
            if (i < s.length() && s.charAt(i) == 'L') {
                i++;
            }
            if (digits.isEmpty() || digits.equals("-") || digits.length() > 19) {
                throw new IllegalArgumentException("expected an integer at offset " + start);
            }
            return Long.parseLong(digits);
        }

        String string() {
            skip();
            char q = peek();
            if (q != '\'' && q != '"') {
                throw new IllegalArgumentException("expected a quoted string at offset " + i);
            }
            int end = s.indexOf(q, i + 1);
            if (end < 0) {
                throw new IllegalArgumentException("unterminated string at offset " + i);
            }
            String v = s.substring(i + 1, end);
            i = end + 1;
            return v;
        }

        void end() {
            skip();
            if (i != s.length()) {
                throw new IllegalArgumentException("unexpected text after the dict at offset " + i);
            }
        }

        private void expect(char c) {
            skip();
            if (peek() != c) {
                throw new IllegalArgumentException("expected '" + c + "' at offset " + i);
            }
            i++;
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("header ends early");
            }
            return s.charAt(i);
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }

    /** Lower-case NumPy name of a type, for messages ({@code float32}...). */
    public static String numpyName(DType t) {
        return t == DType.BOOL ? "bool" : t.name().toLowerCase(Locale.ROOT);
    }
}
