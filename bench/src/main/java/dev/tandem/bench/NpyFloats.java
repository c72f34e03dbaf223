package dev.tandem.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal reader of NumPy {@code .npy} files holding float32 arrays (little-endian {@code <f4}, C order,
 * format versions 1 to 3), so the benchmark harness needs nothing from the runtime's I/O code.
 *
 * @param shape  the array's dimensions (empty for a scalar)
 * @param values the elements in row-major order
 */
public record NpyFloats(long[] shape, float[] values) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /**
     * Reads a float32 array.
     *
     * @throws IOException when the file cannot be read, is not a .npy file, or holds anything but a C-order
     *                     little-endian float32 array
     */
    public static NpyFloats read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IOException(file + ": not a .npy file");
        }
        int major = bytes[6];
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(b.getShort(8));
            start = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new IOException(file + ": truncated header");
            }
            long len = Integer.toUnsignedLong(b.getInt(8));
            if (len > bytes.length) {
                throw new IOException(file + ": truncated header");
            }
            headerLen = (int) len;
            start = 12;
        } else {
            throw new IOException(file + ": unsupported .npy version " + major);
        }
        if (start + headerLen > bytes.length) {
            throw new IOException(file + ": truncated header");
        }
        String header = new String(bytes, start, headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, file, "descr");
        if (!descr.equals("<f4") && !descr.equals("=f4")) {
            throw new IOException(file + ": dtype " + descr + " is not little-endian float32 (<f4)");
        }
        if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
            throw new IOException(file + ": Fortran-order arrays are not supported");
        }
        List<Long> dims = new ArrayList<>();
        for (String d : group(SHAPE, header, file, "shape").split(",")) {
            if (!d.isBlank()) {
                long v = Long.parseLong(d.trim());
                if (v < 0) {
                    throw new IOException(file + ": negative dimension");
                }
                dims.add(v);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        int dataStart = start + headerLen;
        if (count > Integer.MAX_VALUE || (long) dataStart + count * 4 > bytes.length) {
            throw new IOException(file + ": holds fewer bytes than its shape " + Arrays.toString(shape) + " needs");
        }
        float[] values = new float[(int) count];
        b.position(dataStart);
        b.asFloatBuffer().get(values);
        return new NpyFloats(shape, values);
    }

    private static String group(Pattern p, String header, Path file, String what) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": header has no '" + what + "': " + header.strip());
        }
        return m.group(1);
    }
}
