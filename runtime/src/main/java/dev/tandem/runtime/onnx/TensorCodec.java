package dev.tandem.runtime.onnx;

import com.google.protobuf.ByteString;
import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Converts between ONNX {@code TensorProto} and {@link Tensor}, checking every declared size against the bytes
 * actually present before allocating anything, and reading external data only from inside the model's folder.
 */
public final class TensorCodec {
    private TensorCodec() {
    }

    /**
     * Decodes a tensor.
     *
     * @param baseDir the model's folder for external data, or null when the model came from bytes
     * @throws ModelFormatException       when sizes disagree, data is missing or an external path leaves the folder
     * @throws UnsupportedModelException when the element type is one Tandem does not execute
     */
    public static Tensor decode(TensorProto p, Path baseDir) {
        return decode(p, null, baseDir);
    }

    /**
     * As {@link #decode(TensorProto, Path)}, with {@code rawView} (when not null) as the tensor's {@code raw_data}:
     * the raw data of a memory-mapped model file, which {@link OnnxReader} keeps out of the parsed message.
     */
    static Tensor decode(TensorProto p, ByteBuffer rawView, Path baseDir) {
        String what = "tensor '" + p.getName() + "'";
        DType dtype = dtypeOf(p.getDataType(), what);
        Shape shape = shapeOf(p.getDimsList(), what);
        long count = shape.size();
        long bytes = Math.multiplyExact(count, (long) dtype.byteSize());
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            return readExternal(p, baseDir, dtype, shape, bytes, what);
        }
        if (rawView != null || p.hasRawData()) {
            ByteBuffer src = rawView != null ? rawView.duplicate() : p.getRawData().asReadOnlyByteBuffer();
            if (src.remaining() != bytes) {
                throw new ModelFormatException(what + " declares " + dtype + shape + " (" + bytes
                        + " bytes) but holds " + src.remaining() + " bytes of raw data");
            }
            Tensor t = Tensor.allocate(dtype, shape);
            t.segment().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).put(src);
            return t;
        }
        int present = switch (dtype) {
            case FLOAT32 -> p.getFloatDataCount();
            case FLOAT64 -> p.getDoubleDataCount();
            case INT64 -> p.getInt64DataCount();
            case INT32, INT8, UINT8, BOOL -> p.getInt32DataCount();
        };
        if (present != count) {
            throw new ModelFormatException(what + " declares " + dtype + shape + " (" + count + " elements) but holds "
                    + present + " values");
        }
        Tensor t = Tensor.allocate(dtype, shape);
        MemorySegment s = t.segment();
        for (int i = 0; i < count; i++) {
            switch (dtype) {
                case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, p.getFloatData(i));
                case FLOAT64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, p.getDoubleData(i));
                case INT64 -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, p.getInt64Data(i));
                case INT32 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, p.getInt32Data(i));
                case INT8, UINT8, BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) p.getInt32Data(i));
            }
        }
        return t;
    }

    /** The Tandem type of an ONNX data type code, or an UnsupportedModelException naming {@code what}. */
    public static DType dtypeOf(int onnxType, String what) {
        try {
            return DType.fromOnnx(onnxType);
        } catch (IllegalArgumentException e) {
            throw new UnsupportedModelException(what + ": " + e.getMessage());
        }
    }

    /** A shape from ONNX dims, each checked to be non-negative and to fit an int. */
    public static Shape shapeOf(java.util.List<Long> dims, String what) {
        int[] d = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < d.length; i++) {
            long v = dims.get(i);
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw new ModelFormatException(what + " has invalid dimension " + v + " at axis " + i);
            }
            d[i] = (int) v;
            try {
                count = Math.multiplyExact(count, v);
            } catch (ArithmeticException e) {
                throw new ModelFormatException(what + " declares dimensions " + dims + " whose product overflows");
            }
        }
        if (count > Integer.MAX_VALUE) {
            throw new ModelFormatException(what + " declares " + count + " elements; at most " + Integer.MAX_VALUE
                    + " per tensor are supported");
        }
        return Shape.of(d);
    }

    private static Tensor readExternal(TensorProto p, Path baseDir, DType dtype, Shape shape, long bytes,
                                       String what) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> { }
                }
            } catch (NumberFormatException ex) {
                throw new ModelFormatException(what + ": external data " + e.getKey() + " '" + e.getValue()
                        + "' is not a number");
            }
        }
        if (location == null || location.isEmpty()) {
            throw new ModelFormatException(what + " has external data without a location");
        }
        if (baseDir == null) {
            throw new ModelFormatException(what + " keeps its data in external file '" + location
                    + "'; load the model from its file path, not from bytes");
        }
        Path file = confine(baseDir, location, what);
        if (offset < 0 || (length >= 0 && length != bytes)) {
            throw new ModelFormatException(what + " declares " + dtype + shape + " (" + bytes
                    + " bytes) but its external data says offset " + offset + ", length " + length);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (offset > size || size - offset < bytes) {
                throw new ModelFormatException(what + " needs " + bytes + " bytes at offset " + offset + " of '"
                        + location + "', which has only " + size + " bytes");
            }
            Tensor t = Tensor.allocate(dtype, shape);
            try {
                // In chunks: a ByteBuffer addresses at most 2 GiB.
                long done = 0;
                while (done < bytes) {
                    long n = Math.min(bytes - done, 1L << 30);
                    ByteBuffer dst = t.segment().asSlice(done, n).asByteBuffer();
                    while (dst.hasRemaining()) {
                        int r = ch.read(dst, offset + done + dst.position());
                        if (r < 0) {
                            throw new ModelFormatException("'" + location + "' ended early while reading " + what);
                        }
                    }
                    done += n;
                }
                return t;
            } catch (RuntimeException | IOException e) {
                t.close();
                throw e;
            }
        } catch (IOException e) {
            throw new ModelFormatException("Cannot read external data '" + location + "' of " + what + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Resolves an external-data location inside {@code baseDir}: relative, no "..", and (after following links)
     * still inside the folder.
     */
    static Path confine(Path baseDir, String location, String what) {
        Path rel;
        try {
            rel = Path.of(location);
        } catch (RuntimeException e) {
            throw new ModelFormatException(what + ": invalid external data path '" + location + "'");
        }
        if (rel.isAbsolute() || location.startsWith("/") || location.startsWith("\\")) {
            throw new ModelFormatException(what + ": external data path '" + location
                    + "' is absolute; it must be relative to the model's folder");
        }
        for (Path part : rel) {
            if (part.toString().equals("..")) {
                throw new ModelFormatException(what + ": external data path '" + location
                        + "' leaves the model's folder ('..' is not allowed)");
            }
        }
        try {
            Path base = baseDir.toRealPath();
            Path file = base.resolve(rel);
            if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new ModelFormatException(what + ": external data file '" + location + "' not found in "
                        + base);
            }
            Path real = file.toRealPath();
            if (!real.startsWith(base)) {
                throw new ModelFormatException(what + ": external data path '" + location
                        + "' is a link pointing outside the model's folder");
            }
            if (!Files.isRegularFile(real)) {
                throw new ModelFormatException(what + ": external data '" + location + "' is not a regular file");
            }
            return real;
        } catch (IOException e) {
            throw new ModelFormatException(what + ": cannot resolve external data '" + location + "': "
                    + e.getMessage(), e);
        }
    }

    /** Encodes a tensor as raw little-endian data (for writing models and test data). */
    public static TensorProto encode(String name, Tensor t) {
        Tensor c = t.contiguous();
        try {
            TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(t.dtype().onnxCode());
            for (int d : t.shape().dims()) {
                b.addDims(d);
            }
            long bytes = t.size() * t.dtype().byteSize();
            byte[] raw = new byte[Math.toIntExact(bytes)];
            MemorySegment.copy(c.segment(), c.offset() * t.dtype().byteSize(), MemorySegment.ofArray(raw), 0, bytes);
            return b.setRawData(ByteString.copyFrom(raw)).build();
        } finally {
            if (c != t) {
                c.close();
            }
        }
    }
}
