package dev.tandem.runtime.tensor;

import java.lang.foreign.ValueLayout;

/**
 * Element types a {@link Tensor} can hold. The set follows the ONNX {@code TensorProto.DataType} values Tandem
 * executes; {@link #onnxCode()} gives the ONNX number.
 *
 * <p>Elements are stored little-endian/native order, unaligned layouts, so a tensor can sit at any byte offset of
 * an arena.
 */
public enum DType {
    FLOAT32(4, 1, ValueLayout.JAVA_FLOAT_UNALIGNED),
    UINT8(1, 2, ValueLayout.JAVA_BYTE),
    INT8(1, 3, ValueLayout.JAVA_BYTE),
    INT32(4, 6, ValueLayout.JAVA_INT_UNALIGNED),
    INT64(8, 7, ValueLayout.JAVA_LONG_UNALIGNED),
    BOOL(1, 9, ValueLayout.JAVA_BYTE),
    FLOAT64(8, 11, ValueLayout.JAVA_DOUBLE_UNALIGNED);

    private final int byteSize;
    private final int onnxCode;
    private final ValueLayout layout;

    DType(int byteSize, int onnxCode, ValueLayout layout) {
        this.byteSize = byteSize;
        this.onnxCode = onnxCode;
        this.layout = layout;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The ONNX {@code TensorProto.DataType} number of this type. */
    public int onnxCode() {
        return onnxCode;
    }

    /** The (unaligned) memory layout of one element. */
    public ValueLayout layout() {
        return layout;
    }

    /** True for the floating-point types. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT64;
    }

    /**
     * The type with the given ONNX {@code TensorProto.DataType} number.
     *
     * @throws IllegalArgumentException naming the code when Tandem has no such type
     */
    public static DType fromOnnx(int code) {
        for (DType t : values()) {
            if (t.onnxCode == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("Unsupported ONNX tensor data type " + code
                + "; supported: FLOAT(1), UINT8(2), INT8(3), INT32(6), INT64(7), BOOL(9), DOUBLE(11)");
    }
}
