package dev.tandem.train.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The checkpoint file: named float32 and int64 tensors plus a JSON manifest of trainer state, in one binary file
 * that is written atomically ({@link AtomicFiles}) and verified completely before anything is returned.
 *
 * <p>Layout, all integers little-endian:
 * <pre>
 * header    "TNDMCKPT", u32 version (1), u32 tensor count, u64 manifest bytes, u64 file bytes (trailer included)
 * manifest  UTF-8 JSON object (the trainer state)
 * tensors   per tensor: u32 name bytes, UTF-8 name, u8 dtype (1 float32, 2 int64), u8 rank, u16 0, rank × i64 dims,
 *           zero padding to a multiple of 64 bytes from the file start, the elements (row-major)
 * trailer   u32 CRC32C of every byte before the trailer, "TEND"
 * </pre>
 *
 * <p>{@link #read} maps the file, checks magic, version, length and CRC before parsing, and bounds-checks every
 * declared size, so a truncated, corrupted or foreign file gives a {@link CheckpointException}, never a garbage
 * load or an out-of-memory. Tensor names keep their order. The state goes through Jackson: numbers come back as
 * {@code Integer}, {@code Long} or {@code Double}, lists as {@code List}, objects as {@code Map}.
 *
 * <p>Stateless and thread-safe.
 */
public final class Checkpoint {
    /** The format version this code writes and reads. */
    public static final int VERSION = 1;

    static final byte[] MAGIC = "TNDMCKPT".getBytes(StandardCharsets.US_ASCII);
    static final byte[] END = "TEND".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 32;
    static final int TRAILER_BYTES = 8;
    static final int ALIGN = 64;
    static final int MAX_RANK = 32;
    private static final byte F32 = 1;
    private static final byte I64 = 2;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {
    }

    /** What a checkpoint holds: the tensors in file order, and the trainer state. Both maps are unmodifiable. */
    public record Contents(Map<String, TensorData> tensors, Map<String, Object> state) {
        /** The float32 tensor {@code name}'s elements; {@link IllegalArgumentException} if absent or int64. */
        public float[] floats(String name) {
            if (tensors.get(name) instanceof TensorData.F32 t) {
                return t.data();
            }
            throw new IllegalArgumentException("No float32 tensor '" + name + "' in the checkpoint; it has "
                    + tensors.keySet());
        }

        /** The int64 tensor {@code name}'s elements; {@link IllegalArgumentException} if absent or float32. */
        public long[] longs(String name) {
            if (tensors.get(name) instanceof TensorData.I64 t) {
                return t.data();
            }
            throw new IllegalArgumentException("No int64 tensor '" + name + "' in the checkpoint; it has "
                    + tensors.keySet());
        }
    }

    /**
     * Writes {@code tensors} and {@code state} to {@code file}, atomically: the previous file stays intact if the
     * write fails or the process dies.
     *
     * @param state serialisable by Jackson (maps, lists, strings, numbers, booleans, records)
     * @throws IllegalArgumentException if the state cannot be written as JSON or a name is empty
     * @throws AtomicWriteException if the file cannot be written
     */
    public static void write(Path file, Map<String, ? extends TensorData> tensors, Map<String, ?> state)
            throws IOException {
        byte[] manifest;
        try {
            manifest = JSON.writeValueAsBytes(state);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Checkpoint state for " + file + " is not JSON-serialisable: "
                    + e.getOriginalMessage(), e);
        }
        long position = HEADER_BYTES + manifest.length;
        for (Map.Entry<String, ? extends TensorData> e : tensors.entrySet()) {
            position = align(position + entryHeaderBytes(name(e.getKey()), e.getValue()));
            position += dataBytes(e.getValue());
        }
        long contentBytes = position;
        long fileBytes = contentBytes + TRAILER_BYTES;
        AtomicFiles.write(file, stream -> {
            CrcStream out = new CrcStream(stream);
            ByteBuffer header = little(HEADER_BYTES).put(MAGIC).putInt(VERSION).putInt(tensors.size())
                    .putLong(manifest.length).putLong(fileBytes);
            out.write(header.array());
            out.write(manifest);
            byte[] chunk = new byte[1 << 20];
            for (Map.Entry<String, ? extends TensorData> e : tensors.entrySet()) {
                byte[] name = name(e.getKey());
                TensorData t = e.getValue();
                ByteBuffer entry = little(entryHeaderBytes(name, t)).putInt(name.length).put(name)
                        .put(t instanceof TensorData.F32 ? F32 : I64).put((byte) t.shape().length).putShort((short) 0);
                for (long d : t.shape()) {
                    entry.putLong(d);
                }
                out.write(entry.array());
                out.write(new byte[(int) (align(out.count) - out.count)]);
                writeData(out, t, chunk);
            }
            if (out.count != contentBytes) {
                throw new IllegalStateException("Checkpoint layout mismatch: wrote " + out.count + " bytes, planned "
                        + contentBytes + " (were the tensors changed during the write?)");
            }
            stream.write(little(TRAILER_BYTES).putInt((int) out.crc.getValue()).put(END).array());
        });
    }

    /**
     * Reads and verifies {@code file}.
     *
     * @throws CheckpointException if the file is truncated, corrupt, not a checkpoint or of a newer version
     * @throws IOException if it cannot be read at all (for example {@link java.nio.file.NoSuchFileException})
     */
    public static Contents read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = channel.size();
            if (size < HEADER_BYTES + TRAILER_BYTES) {
                throw new CheckpointException(file, "truncated: " + size + " bytes, a checkpoint has at least "
                        + (HEADER_BYTES + TRAILER_BYTES));
            }
            MemorySegment s = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(file, s);
        }
    }

    private static Contents parse(Path file, MemorySegment s) throws CheckpointException {
        long size = s.byteSize();
        if (s.asSlice(0, MAGIC.length).mismatch(MemorySegment.ofArray(MAGIC)) != -1) {
            throw new CheckpointException(file, "not a Tandem checkpoint (the file does not start with \"TNDMCKPT\")");
        }
        int version = s.get(LE_INT, 8);
        if (version != VERSION) {
            throw new CheckpointException(file, "format version " + Integer.toUnsignedString(version)
                    + ", this reader knows version " + VERSION + (version > VERSION ? "; use a newer Tandem" : ""));
        }
        long tensorCount = Integer.toUnsignedLong(s.get(LE_INT, 12));
        long manifestBytes = s.get(LE_LONG, 16);
        long fileBytes = s.get(LE_LONG, 24);
        if (fileBytes != size) {
            throw new CheckpointException(file, (size < fileBytes ? "truncated" : "has trailing bytes")
                    + ": the header says " + fileBytes + " bytes, the file has " + size);
        }
        long contentBytes = size - TRAILER_BYTES;
        CRC32C crc = new CRC32C();
        for (long off = 0; off < contentBytes; off += 1 << 30) {
            crc.update(s.asSlice(off, Math.min(1 << 30, contentBytes - off)).asByteBuffer());
        }
        int stored = s.get(LE_INT, contentBytes);
        if (stored != (int) crc.getValue()
                || s.asSlice(contentBytes + 4, END.length).mismatch(MemorySegment.ofArray(END)) != -1) {
            throw new CheckpointException(file, String.format(
                    "corrupt: CRC32C of the content is %08x, the file records %08x", (int) crc.getValue(), stored));
        }
        // From here on the bytes are what a writer wrote; the bounds checks guard against a buggy or hostile one.
        Reader r = new Reader(file, s, contentBytes);
        r.position = HEADER_BYTES;
        Map<String, Object> state = manifest(file, r.bytes(manifestBytes, "the manifest"));
        if (tensorCount > contentBytes / 8) {
            throw r.malformed("declares " + tensorCount + " tensors");
        }
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = new String(r.bytes(Integer.toUnsignedLong(r.i32()), "a tensor name"),
                    StandardCharsets.UTF_8);
            int dtype = r.u8();
            int rank = r.u8();
            r.position += 2;
            if (dtype != F32 && dtype != I64) {
                throw r.malformed("tensor '" + name + "' has unknown dtype code " + dtype);
            }
            if (rank > MAX_RANK) {
                throw r.malformed("tensor '" + name + "' has rank " + rank);
            }
            long[] shape = new long[rank];
            for (int d = 0; d < rank; d++) {
                shape[d] = r.i64();
            }
            long count = TensorData.elements(shape);
            if (count < 0) {
                throw r.malformed("tensor '" + name + "' has shape " + Arrays.toString(shape)
                        + ", negative or too large for one array");
            }
            r.position = align(r.position);
            long bytes = count * (dtype == F32 ? 4 : 8);
            r.require(bytes, "the data of tensor '" + name + "'");
            TensorData t;
            if (dtype == F32) {
                float[] data = new float[(int) count];
                MemorySegment.copy(s, LE_FLOAT, r.position, data, 0, data.length);
                t = new TensorData.F32(shape, data);
            } else {
                long[] data = new long[(int) count];
                MemorySegment.copy(s, LE_LONG, r.position, data, 0, data.length);
                t = new TensorData.I64(shape, data);
            }
            r.position += bytes;
            if (tensors.put(name, t) != null) {
                throw r.malformed("tensor '" + name + "' appears twice");
            }
        }
        if (r.position != contentBytes) {
            throw r.malformed((contentBytes - r.position) + " unexplained bytes before the trailer");
        }
        return new Contents(Collections.unmodifiableMap(tensors), state);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(Path file, byte[] json) throws CheckpointException {
        try {
            Object value = JSON.readValue(json, Object.class);
            if (value instanceof Map<?, ?> map) {
                return Collections.unmodifiableMap((Map<String, Object>) map);
            }
            throw new CheckpointException(file, "malformed: the manifest is not a JSON object");
        } catch (IOException e) {
            throw e instanceof CheckpointException c ? c
                    : new CheckpointException(file, "malformed manifest: " + e.getMessage(), e);
        }
    }

    private static void writeData(CrcStream out, TensorData t, byte[] chunk) throws IOException {
        MemorySegment buffer = MemorySegment.ofArray(chunk);
        switch (t) {
            case TensorData.F32 f -> {
                int step = chunk.length / 4;
                for (int i = 0; i < f.data().length; i += step) {
                    int n = Math.min(step, f.data().length - i);
                    MemorySegment.copy(f.data(), i, buffer, LE_FLOAT, 0, n);
                    out.write(chunk, 0, n * 4);
                }
            }
            case TensorData.I64 l -> {
                int step = chunk.length / 8;
                for (int i = 0; i < l.data().length; i += step) {
                    int n = Math.min(step, l.data().length - i);
                    MemorySegment.copy(l.data(), i, buffer, LE_LONG, 0, n);
                    out.write(chunk, 0, n * 8);
                }
            }
        }
    }

    private static byte[] name(String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("A checkpoint tensor needs a non-empty name");
        }
        return name.getBytes(StandardCharsets.UTF_8);
    }

    private static int entryHeaderBytes(byte[] name, TensorData t) {
        if (t.shape().length > MAX_RANK) {
            throw new IllegalArgumentException("Tensor rank " + t.shape().length + " exceeds " + MAX_RANK);
        }
        return 4 + name.length + 4 + 8 * t.shape().length;
    }

    private static long dataBytes(TensorData t) {
        return (long) t.size() * (t instanceof TensorData.F32 ? 4 : 8);
    }

    static long align(long position) {
        return (position + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static ByteBuffer little(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Counts and checksums what passes through. */
    private static final class CrcStream extends FilterOutputStream {
        final CRC32C crc = new CRC32C();
        long count;

        CrcStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            crc.update(b, off, len);
            count += len;
        }
    }

    /** A bounds-checked cursor over the verified content. */
    private static final class Reader {
        final Path file;
        final MemorySegment s;
        final long end;
        long position;

        Reader(Path file, MemorySegment s, long end) {
            this.file = file;
            this.s = s;
            this.end = end;
        }

        void require(long bytes, String what) throws CheckpointException {
            if (bytes < 0 || bytes > end - position) {
                throw malformed(what + " (" + bytes + " bytes at offset " + position + ") runs past the content ("
                        + end + " bytes)");
            }
        }

        byte[] bytes(long count, String what) throws CheckpointException {
            require(count, what);
            byte[] b = s.asSlice(position, count).toArray(ValueLayout.JAVA_BYTE);
            position += count;
            return b;
        }

        int u8() throws CheckpointException {
            require(1, "a tensor header");
            return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, position++));
        }

        int i32() throws CheckpointException {
            require(4, "a tensor header");
            int v = s.get(LE_INT, position);
            position += 4;
            return v;
        }

        long i64() throws CheckpointException {
            require(8, "a tensor shape");
            long v = s.get(LE_LONG, position);
            position += 8;
            return v;
        }

        CheckpointException malformed(String problem) {
            return new CheckpointException(file, "malformed: " + problem);
        }
    }
}
