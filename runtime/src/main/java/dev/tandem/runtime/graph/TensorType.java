package dev.tandem.runtime.graph;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import java.util.Arrays;

/**
 * A declared tensor type as a model states it for its inputs and outputs: an element type (null when not
 * declared or not one Tandem executes, then {@code onnxType} says which) and dimensions, each either fixed
 * ({@code dims[i] >= 0}) or symbolic ({@code dims[i] == -1}, named by {@code dimNames[i]} when the model names
 * it, e.g. "batch"). {@code dims} is null when the rank is not declared. {@code onnxType} is -1 for a value that
 * is not a tensor (a sequence, map or optional).
 */
public record TensorType(DType dtype, int onnxType, long[] dims, String[] dimNames) {
    /** True when every dimension is fixed. */
    public boolean isFixed() {
        if (dims == null) {
            return false;
        }
        for (long d : dims) {
            if (d < 0) {
                return false;
            }
        }
        return true;
    }

    /** True when {@code shape} fits the declared dimensions (symbolic ones match anything). */
    public boolean accepts(Shape shape) {
        if (dims == null) {
            return true;
        }
        if (dims.length != shape.rank()) {
            return false;
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] >= 0 && dims[i] != shape.dim(i)) {
                return false;
            }
        }
        return true;
    }

    /** The concrete shape with every symbolic dimension set to {@code fill} (e.g. batch 1). */
    public Shape concrete(int fill) {
        if (dims == null) {
            throw new IllegalStateException("rank not declared");
        }
        int[] d = new int[dims.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims[i] >= 0 ? Math.toIntExact(dims[i]) : fill;
        }
        return Shape.of(d);
    }

    /** Like {@code float32[batch,3,224,224]}. */
    public String describe() {
        String t = dtype != null ? dtype.name().toLowerCase(java.util.Locale.ROOT)
                : onnxType < 0 ? "non-tensor" : "onnx-type-" + onnxType;
        if (dims == null) {
            return t + "[?]";
        }
        StringBuilder sb = new StringBuilder(t).append('[');
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(dims[i] >= 0 ? Long.toString(dims[i])
                    : dimNames != null && dimNames[i] != null && !dimNames[i].isEmpty() ? dimNames[i] : "?");
        }
        return sb.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorType t && t.dtype == dtype && t.onnxType == onnxType && Arrays.equals(t.dims, dims)
                && Arrays.equals(t.dimNames, dimNames);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(dims) + onnxType;
    }

    @Override
    public String toString() {
        return describe();
    }
}
