package dev.tandem.runtime.ops;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.UnsupportedModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Locale;

/**
 * What an {@link Op} sees while preparing one node: the node and its attributes, the opset version in force, each
 * input's concrete type and shape, the value of inputs known at plan time (initializers and folded constants),
 * and the thread pool and GEMM the kernels run on.
 */
public final class OpContext {
    private final Node node;
    private final int opset;
    private final DType[] dtypes;
    private final Shape[] shapes;
    private final Tensor[] constants;
    private final Sgemm gemm;
    private final PackedWeights packs;

    /**
     * @param dtypes    per input, null where the input is absent
     * @param shapes    per input, null where the input is absent
     * @param constants per input, the value when known at plan time, else null
     */
    public OpContext(Node node, int opset, DType[] dtypes, Shape[] shapes, Tensor[] constants, Sgemm gemm) {
        this(node, opset, dtypes, shapes, constants, gemm, PackedWeights.none());
    }

    /** As above, with the model's cache of prepared weights (shared by its plans). */
    public OpContext(Node node, int opset, DType[] dtypes, Shape[] shapes, Tensor[] constants, Sgemm gemm,
                     PackedWeights packs) {
        this.node = node;
        this.packs = packs;
        this.opset = opset;
        this.dtypes = dtypes;
        this.shapes = shapes;
        this.constants = constants;
        this.gemm = gemm;
    }

    public Node node() {
        return node;
    }

    /** The version of the node's domain opset the model imports. */
    public int opset() {
        return opset;
    }

    public ThreadPool pool() {
        return gemm.pool();
    }

    public Sgemm gemm() {
        return gemm;
    }

    /** The model's cache of prepared weights ({@link PackedWeights#none()} when planned without a model). */
    public PackedWeights packs() {
        return packs;
    }

    // ---- inputs

    /** Number of input slots the node lists (absent optional inputs included). */
    public int inputCount() {
        return dtypes.length;
    }

    /** Number of outputs the node declares. */
    public int outputCount() {
        return node.outputs().size();
    }

    public boolean hasInput(int i) {
        return i < dtypes.length && dtypes[i] != null;
    }

    public DType dtype(int i) {
        requireInput(i);
        return dtypes[i];
    }

    public Shape shape(int i) {
        requireInput(i);
        return shapes[i];
    }

    /** The input's value when known at plan time (initializer or constant-folded), else null. */
    public Tensor constant(int i) {
        return i < constants.length ? constants[i] : null;
    }

    /** The input's value as longs (int64/int32 tensors), which must be known at plan time. */
    public long[] constantLongs(int i, String what) {
        Tensor t = constant(i);
        if (t == null) {
            throw unsupported(what + " (input " + i + ") must be known before the model runs (a constant or "
                    + "computed from shapes); here it depends on run-time data");
        }
        return Elements.toLongs(t);
    }

    /** The input's value as floats, which must be known at plan time. */
    public float[] constantFloats(int i, String what) {
        Tensor t = constant(i);
        if (t == null) {
            throw unsupported(what + " (input " + i + ") must be known before the model runs; here it depends on "
                    + "run-time data");
        }
        return Elements.toFloats(t);
    }

    /** Fails unless input {@code i} is present. */
    public void requireInput(int i) {
        if (!hasInput(i)) {
            throw fail("input " + i + " is required but absent");
        }
    }

    /** Fails (as unsupported) unless input {@code i} has one of {@code allowed} types. */
    public DType requireType(int i, DType... allowed) {
        DType t = dtype(i);
        for (DType a : allowed) {
            if (a == t) {
                return t;
            }
        }
        throw unsupported("input " + i + " has type " + t + "; supported: " + java.util.Arrays.toString(allowed));
    }

    // ---- attributes

    public boolean hasAttr(String name) {
        return node.attribute(name) != null;
    }

    public long attrInt(String name, long def) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return def;
        }
        if (a.value() instanceof Long l) {
            return l;
        }
        throw fail("attribute '" + name + "' must be an int, got " + a.kind());
    }

    public float attrFloat(String name, float def) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return def;
        }
        if (a.value() instanceof Float f) {
            return f;
        }
        if (a.value() instanceof Long l) {
            return l;
        }
        throw fail("attribute '" + name + "' must be a float, got " + a.kind());
    }

    public String attrString(String name, String def) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return def;
        }
        if (a.value() instanceof String s) {
            return s;
        }
        throw fail("attribute '" + name + "' must be a string, got " + a.kind());
    }

    /** The ints attribute, or null when absent. */
    public long[] attrInts(String name) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return null;
        }
        if (a.value() instanceof long[] v) {
            return v.clone();
        }
        if (a.kind() == Attribute.Kind.FLOATS || a.kind() == Attribute.Kind.OTHER) {
            throw fail("attribute '" + name + "' must be ints, got " + a.kind());
        }
        return new long[0];
    }

    /** The floats attribute, or null when absent. */
    public float[] attrFloats(String name) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return null;
        }
        if (a.value() instanceof float[] v) {
            return v.clone();
        }
        if (a.kind() == Attribute.Kind.INTS && ((long[]) a.value()).length == 0) {
            return new float[0];
        }
        throw fail("attribute '" + name + "' must be floats, got " + a.kind());
    }

    /** The tensor attribute, or null when absent. */
    public Tensor attrTensor(String name) {
        Attribute a = node.attribute(name);
        if (a == null) {
            return null;
        }
        if (a.value() instanceof Tensor t) {
            return t;
        }
        throw fail("attribute '" + name + "' must be a tensor, got " + a.kind());
    }

    // ---- errors

    /** An error about this node: invalid attributes or inputs. */
    public ModelException fail(String message) {
        return new ModelException(node.describe() + " (opset " + opset + "): " + message);
    }

    /** The node uses something Tandem does not run. */
    public UnsupportedModelException unsupported(String message) {
        return new UnsupportedModelException(node.describe() + " (opset " + opset + "): " + message);
    }

    /** Lower-case name of an input's type, for messages. */
    public String typeName(int i) {
        return dtype(i).name().toLowerCase(Locale.ROOT);
    }
}
