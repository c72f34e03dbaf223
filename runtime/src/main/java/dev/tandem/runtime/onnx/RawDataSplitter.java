package dev.tandem.runtime.onnx;

import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a model held in a direct (memory-mapped) buffer without copying its weights onto the heap.
 *
 * <p>protobuf-java parses a direct buffer from a heap copy of all of it unless it can use {@code sun.misc.Unsafe}
 * (it does not on Java 25): a copy the size of the file that is garbage once the weights are copied into tensors,
 * allocated in the old generation when it is bigger than the young one (ResNet-18: 46.7 MB). Instead, this walks the
 * wire format of {@code ModelProto.graph.initializer[*]} (fields 7, 5 and, in each {@code TensorProto}, 9:
 * {@code raw_data}), copies everything but the initializers' raw data into a small heap buffer (a "skeleton", with
 * the enclosing messages' lengths rewritten) and lets protobuf parse that. Each initializer's raw data is returned
 * beside the message as a view of the buffer ({@link Split#raw()}; a {@code ByteString} cannot be one: protobuf-java
 * 4 copies a direct buffer it wraps). The message is the one protobuf would parse from the whole buffer less the
 * initializers' {@code raw_data}: fields keep their order, unknown fields are kept, a repeated {@code raw_data}
 * keeps its last value.
 *
 * <p>The walk accepts only what it understands: a single {@code graph} field, well-formed tags, varints and
 * lengths, no groups. Anything else returns null and the caller parses the whole buffer as before, so malformed
 * files fail with the messages they always did.
 */
final class RawDataSplitter {
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int LENGTH_DELIMITED = 2;

    /** Thrown inside the walk for anything it does not accept; the caller falls back. */
    private static final class Unexpected extends Exception {
        Unexpected() {
            super(null, null, false, false);
        }
    }

    /**
     * A parsed skeleton and the raw data of its initializers.
     *
     * @param model the model, its initializers without {@code raw_data}
     * @param raw   initializer (by identity) → its raw data, a view of the buffer; absent when it had none
     */
    record Split(ModelProto model, Map<TensorProto, ByteBuffer> raw) {
    }

    private final ByteBuffer buf;
    /** Per initializer, in order: {offset, length} of its last raw_data field, or null when it has none. */
    private final List<long[]> raw = new ArrayList<>();

    private RawDataSplitter(ByteBuffer buf) {
        this.buf = buf;
    }

    /**
     * The model in {@code buf} (position to limit) with its initializers' raw data as views of {@code buf}, or null
     * when the buffer holds something the walk does not accept, or no initializer raw data (then parse all of it).
     * The views are valid as long as {@code buf}'s memory is.
     *
     * @param parser parses the skeleton (with the caller's limits); its exceptions propagate
     */
    static Split parse(ByteBuffer buf, java.util.function.Function<byte[], ModelProto> parser) {
        RawDataSplitter s = new RawDataSplitter(buf);
        byte[] skeleton;
        try {
            skeleton = s.model(buf.position(), buf.limit());
        } catch (Unexpected e) {
            return null;
        }
        if (skeleton == null) {
            return null;
        }
        ModelProto m = parser.apply(skeleton);
        if (!m.hasGraph() || m.getGraph().getInitializerCount() != s.raw.size()) {
            return null;
        }
        Map<TensorProto, ByteBuffer> views = new IdentityHashMap<>();
        for (int i = 0; i < s.raw.size(); i++) {
            long[] r = s.raw.get(i);
            if (r != null) {
                views.put(m.getGraph().getInitializer(i), buf.slice((int) r[0], (int) r[1]).asReadOnlyBuffer());
            }
        }
        return new Split(m, views);
    }

    /**
     * Handles one field of a message being rewritten: returns true when it wrote the field to {@code out} itself,
     * false to have it copied unchanged. {@code start}: the tag's first byte; {@code value}: the value's;
     * {@code end}: the byte after the value.
     */
    private interface FieldRewriter {
        boolean rewrite(int field, int wire, int start, int value, int end, ByteArrayOutputStream out)
                throws Unexpected;
    }

    /** The message in [from, to) with each field copied or, where {@code f} takes it, rewritten. */
    private byte[] rewrite(int from, int to, FieldRewriter f) throws Unexpected {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int p = from;
        while (p < to) {
            int start = p;
            long tag = varint(p, to);
            p = next;
            int wire = (int) (tag & 7);
            int end = skip(p, to, wire);
            if (!f.rewrite((int) (tag >>> 3), wire, start, p, end, out)) {
                copy(out, start, end);
            }
            p = end;
        }
        return out.toByteArray();
    }

    /** Writes the length-delimited field at [start, end) again with its body replaced by {@code body(from, to)}. */
    private void replaceBody(ByteArrayOutputStream out, int start, int value, int end, MessageRewriter body)
            throws Unexpected {
        int len = (int) varint(value, end);
        int from = next;
        byte[] b = body.rewrite(from, from + len);
        writeTag(out, start, value);
        writeLengthDelimited(out, b);
    }

    private interface MessageRewriter {
        byte[] rewrite(int from, int to) throws Unexpected;
    }

    /** The skeleton of a ModelProto in [from, to), or null when it has no graph or no initializer raw data. */
    private byte[] model(int from, int to) throws Unexpected {
        boolean[] graphSeen = {false};
        byte[] bytes = rewrite(from, to, (field, wire, start, value, end, out) -> {
            if (field != MODEL_GRAPH || wire != LENGTH_DELIMITED) {
                return false;
            }
            if (graphSeen[0]) {
                throw new Unexpected(); // merged by protobuf: rare enough to leave to it
            }
            graphSeen[0] = true;
            replaceBody(out, start, value, end, this::graph);
            return true;
        });
        if (!graphSeen[0] || raw.stream().allMatch(r -> r == null)) {
            return null;
        }
        return bytes;
    }

    private byte[] graph(int from, int to) throws Unexpected {
        return rewrite(from, to, (field, wire, start, value, end, out) -> {
            if (field != GRAPH_INITIALIZER || wire != LENGTH_DELIMITED) {
                return false;
            }
            replaceBody(out, start, value, end, this::tensor);
            return true;
        });
    }

    /** A TensorProto without its raw_data field; where that field's bytes are goes to {@link #raw}. */
    private byte[] tensor(int from, int to) throws Unexpected {
        long[][] data = {null};
        byte[] bytes = rewrite(from, to, (field, wire, start, value, end, out) -> {
            if (field != TENSOR_RAW_DATA) {
                return false;
            }
            if (wire != LENGTH_DELIMITED) {
                throw new Unexpected();
            }
            int len = (int) varint(value, end);
            data[0] = new long[] {next, len};
            return true;
        });
        raw.add(data[0]);
        return bytes;
    }

    /** Where the last varint read ended. */
    private int next;

    /** Reads a varint at {@code p} (before {@code to}); sets {@link #next}. */
    private long varint(int p, int to) throws Unexpected {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= to) {
                throw new Unexpected();
            }
            byte b = buf.get(p++);
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                next = p;
                return v;
            }
        }
        throw new Unexpected();
    }

    /** The end of a field's value that starts at {@code p}, checked against {@code to}. */
    private int skip(int p, int to, int wire) throws Unexpected {
        long end = switch (wire) {
            case 0 -> {
                varint(p, to);
                yield next;
            }
            case 1 -> p + 8L;
            case 2 -> {
                long len = varint(p, to);
                if (len < 0 || len > Integer.MAX_VALUE) {
                    throw new Unexpected();
                }
                yield next + len;
            }
            case 5 -> p + 4L;
            default -> throw new Unexpected(); // groups (3, 4) and invalid wire types
        };
        if (end > to) {
            throw new Unexpected();
        }
        return (int) end;
    }

    private void copy(ByteArrayOutputStream out, int from, int to) {
        byte[] b = new byte[to - from];
        buf.get(from, b);
        out.write(b, 0, b.length);
    }

    private void writeTag(ByteArrayOutputStream out, int from, int to) {
        copy(out, from, to);
    }

    private static void writeLengthDelimited(ByteArrayOutputStream out, byte[] body) {
        long v = body.length;
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        out.write(body, 0, body.length);
    }
}
