package dev.tandem.runtime.graph;

import dev.tandem.runtime.tensor.Tensor;
import java.util.Arrays;

/**
 * One node attribute. {@code value} is a {@code Long} (INT), {@code Float} (FLOAT), {@code String} (STRING),
 * {@code long[]} (INTS), {@code float[]} (FLOATS), {@code String[]} (STRINGS), a {@link Tensor} (TENSOR, owned by
 * the graph) or null for kinds Tandem keeps only by name (GRAPH, SPARSE_TENSOR, TYPE_PROTO...).
 */
public record Attribute(String name, Kind kind, Object value) {
    /** Attribute kinds, as in ONNX's {@code AttributeProto.AttributeType}. */
    public enum Kind { FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS, OTHER }

    public static Attribute of(String name, long v) {
        return new Attribute(name, Kind.INT, v);
    }

    public static Attribute of(String name, float v) {
        return new Attribute(name, Kind.FLOAT, v);
    }

    public static Attribute of(String name, String v) {
        return new Attribute(name, Kind.STRING, v);
    }

    public static Attribute of(String name, long[] v) {
        return new Attribute(name, Kind.INTS, v.clone());
    }

    public static Attribute of(String name, float[] v) {
        return new Attribute(name, Kind.FLOATS, v.clone());
    }

    @Override
    public String toString() {
        String v = switch (value) {
            case long[] a -> Arrays.toString(a);
            case float[] a -> Arrays.toString(a);
            case String[] a -> Arrays.toString(a);
            case null -> "<" + kind + ">";
            default -> String.valueOf(value);
        };
        return name + "=" + v;
    }
}
