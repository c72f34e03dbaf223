package dev.tandem.runtime.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional array: a {@link DType}, a {@link Shape}, strides and an element offset into a
 * {@link MemorySegment}.
 *
 * <p><b>Memory.</b> The segment belongs to an {@link Arena}. A tensor made by {@link #allocate(DType, Shape)} owns a
 * shared arena of its own and frees it on {@link #close()}; one made by {@link #allocate(Arena, DType, Shape)} or
 * {@link #wrap} lives as long as the caller's arena. Views ({@link #reshape}, {@link #permute}, {@link #slice},
 * {@link #broadcastTo}) share the memory of their base and never copy; they are valid while the base's memory is.
 * Any access after the memory is freed, or after {@link #close()} on this tensor, throws
 * {@link IllegalStateException}. {@code close()} is idempotent.
 *
 * <p><b>Layout.</b> Strides are in elements and may be zero (broadcast) but not negative. A tensor is
 * {@linkplain #isContiguous() contiguous} when its strides are the row-major strides of its shape.
 *
 * <p><b>Threads.</b> A tensor is not synchronised: concurrent writers to the same elements need outside
 * coordination; concurrent readers are fine. Owned memory is shared-arena memory, readable from any thread.
 */
public final class Tensor implements AutoCloseable {
    private final DType dtype;
    private final Shape shape;
    private final long[] strides;
    private final long offset;
    private final MemorySegment segment;
    private final Arena owned;
    private boolean closed;

    static {
        SegmentTypes.load();
    }

    private Tensor(DType dtype, Shape shape, long[] strides, long offset, MemorySegment segment, Arena owned) {
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.segment = segment;
        this.owned = owned;
    }

    /** A new zero-filled contiguous tensor owning its memory; free it with {@link #close()}. */
    public static Tensor allocate(DType dtype, Shape shape) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = arena.allocate(Math.max(1, Math.multiplyExact(shape.size(), dtype.byteSize())), 64);
            return new Tensor(dtype, shape, shape.contiguousStrides(), 0, seg, arena);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** A new zero-filled contiguous tensor in {@code arena}; it lives as long as the arena. */
    public static Tensor allocate(Arena arena, DType dtype, Shape shape) {
        MemorySegment seg = arena.allocate(Math.max(1, Math.multiplyExact(shape.size(), dtype.byteSize())), 64);
        return new Tensor(dtype, shape, shape.contiguousStrides(), 0, seg, null);
    }

    /**
     * A contiguous tensor over existing memory, starting at element {@code elementOffset} of {@code segment}.
     *
     * @throws IllegalArgumentException when the segment is too small for the shape
     */
    public static Tensor wrap(MemorySegment segment, long elementOffset, DType dtype, Shape shape) {
        long need = (elementOffset + shape.size()) * dtype.byteSize();
        if (elementOffset < 0 || need > segment.byteSize()) {
            throw new IllegalArgumentException("Segment of " + segment.byteSize() + " bytes cannot hold " + dtype
                    + shape + " at element offset " + elementOffset + " (needs " + need + " bytes)");
        }
        return new Tensor(dtype, shape, shape.contiguousStrides(), elementOffset, segment, null);
    }

    /** A new owned float32 tensor holding a copy of {@code values} in row-major order. */
    public static Tensor ofFloats(Shape shape, float... values) {
        checkCount(shape, values.length);
        Tensor t = allocate(DType.FLOAT32, shape);
        MemorySegment.copy(values, 0, t.segment, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
        return t;
    }

    /** A new owned int64 tensor holding a copy of {@code values} in row-major order. */
    /** A new float64 tensor holding {@code values} (row-major). */
    public static Tensor ofDoubles(Shape shape, double... values) {
        checkCount(shape, values.length);
        Tensor t = allocate(DType.FLOAT64, shape);
        MemorySegment.copy(values, 0, t.segment, ValueLayout.JAVA_DOUBLE_UNALIGNED, 0, values.length);
        return t;
    }

    public static Tensor ofLongs(Shape shape, long... values) {
        checkCount(shape, values.length);
        Tensor t = allocate(DType.INT64, shape);
        MemorySegment.copy(values, 0, t.segment, ValueLayout.JAVA_LONG_UNALIGNED, 0, values.length);
        return t;
    }

    private static void checkCount(Shape shape, int n) {
        if (n != shape.size()) {
            throw new IllegalArgumentException(n + " values given for shape " + shape + " of " + shape.size()
                    + " elements");
        }
    }

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public int rank() {
        return shape.rank();
    }

    /** Number of elements. */
    public long size() {
        return shape.size();
    }

    /** Strides in elements, a copy. */
    public long[] strides() {
        return strides.clone();
    }

    /** Element offset of the first element within {@link #segment()}. */
    public long offset() {
        return offset;
    }

    /** The underlying memory (the whole storage, not just this view); see {@link #offset()}. */
    public MemorySegment segment() {
        ensureOpen();
        return segment;
    }

    /** True when the strides are row-major for the shape (so the elements are one dense run). */
    public boolean isContiguous() {
        long acc = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            if (shape.dim(i) != 1 && strides[i] != acc) {
                return false;
            }
            acc *= shape.dim(i);
        }
        return true;
    }

    /**
     * A view with a new shape and the same elements in row-major order. One dimension may be -1 (inferred).
     *
     * @throws IllegalArgumentException when the sizes differ
     * @throws IllegalStateException when this view is not contiguous (call {@link #contiguous()} first)
     */
    public Tensor reshape(int... dims) {
        ensureOpen();
        int[] d = dims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("At most one -1 in reshape " + Arrays.toString(dims));
                }
                infer = i;
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || size() % known != 0) {
                throw new IllegalArgumentException("Cannot reshape " + shape + " to " + Arrays.toString(dims));
            }
            d[infer] = Math.toIntExact(size() / known);
        }
        Shape s = Shape.of(d);
        if (s.size() != size()) {
            throw new IllegalArgumentException("Cannot reshape " + shape + " (" + size() + " elements) to " + s
                    + " (" + s.size() + " elements)");
        }
        if (!isContiguous()) {
            throw new IllegalStateException("reshape needs a contiguous tensor; this view has shape " + shape
                    + " and strides " + Arrays.toString(strides) + ": call contiguous() first");
        }
        return new Tensor(dtype, s, s.contiguousStrides(), offset, segment, null);
    }

    /** A view with the axes reordered: axis {@code i} of the result is axis {@code perm[i]} of this tensor. */
    public Tensor permute(int... perm) {
        ensureOpen();
        if (perm.length != rank()) {
            throw new IllegalArgumentException("Permutation " + Arrays.toString(perm) + " does not match rank "
                    + rank());
        }
        boolean[] seen = new boolean[rank()];
        int[] d = new int[rank()];
        long[] st = new long[rank()];
        for (int i = 0; i < perm.length; i++) {
            int p = shape.normalizeAxis(perm[i]);
            if (seen[p]) {
                throw new IllegalArgumentException("Axis " + p + " repeated in permutation " + Arrays.toString(perm));
            }
            seen[p] = true;
            d[i] = shape.dim(p);
            st[i] = strides[p];
        }
        return new Tensor(dtype, Shape.of(d), st, offset, segment, null);
    }

    /** A view with axes {@code a} and {@code b} swapped. */
    public Tensor transpose(int a, int b) {
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        int x = shape.normalizeAxis(a), y = shape.normalizeAxis(b);
        perm[x] = y;
        perm[y] = x;
        return permute(perm);
    }

    /**
     * A view of elements {@code start, start+step, ...} (below {@code end}) along {@code axis}; {@code step >= 1}.
     * Bounds are clamped to the dimension, as in numpy.
     */
    public Tensor slice(int axis, int start, int end, int step) {
        ensureOpen();
        if (step < 1) {
            throw new IllegalArgumentException("Slice step must be >= 1, got " + step);
        }
        int ax = shape.normalizeAxis(axis);
        int n = shape.dim(ax);
        int s = Math.clamp(start < 0 ? start + n : start, 0, n);
        int e = Math.clamp(end < 0 ? end + n : end, 0, n);
        int len = e <= s ? 0 : (e - s + step - 1) / step;
        int[] d = shape.dims();
        d[ax] = len;
        long[] st = strides.clone();
        st[ax] = strides[ax] * step;
        return new Tensor(dtype, Shape.of(d), st, offset + (long) s * strides[ax], segment, null);
    }

    /** A view stretched to {@code target} by numpy broadcasting rules (stretched axes get stride 0). */
    public Tensor broadcastTo(Shape target) {
        ensureOpen();
        Shape b = Shape.broadcast(shape, target);
        if (!b.equals(target)) {
            throw new IllegalArgumentException("Cannot broadcast " + shape + " to " + target);
        }
        int r = target.rank();
        long[] st = new long[r];
        for (int i = 0; i < r; i++) {
            int src = i - (r - rank());
            st[i] = src < 0 || shape.dim(src) == 1 && target.dim(i) != 1 ? 0 : strides[src];
        }
        return new Tensor(dtype, target, st, offset, segment, null);
    }

    /** This tensor when contiguous, else a new owned contiguous copy (the caller closes it). */
    public Tensor contiguous() {
        ensureOpen();
        if (isContiguous()) {
            return this;
        }
        Tensor out = allocate(dtype, shape);
        out.copyFrom(this);
        return out;
    }

    /**
     * Copies {@code src}'s elements into this tensor in logical (row-major index) order.
     *
     * @throws IllegalArgumentException when shapes or dtypes differ
     */
    public void copyFrom(Tensor src) {
        ensureOpen();
        if (!src.shape.equals(shape) || src.dtype != dtype) {
            throw new IllegalArgumentException("Cannot copy " + src.dtype + src.shape + " into " + dtype + shape);
        }
        MemorySegment from = src.segment();
        int bs = dtype.byteSize();
        if (isContiguous() && src.isContiguous()) {
            MemorySegment.copy(from, src.offset * bs, segment, offset * bs, size() * bs);
            return;
        }
        int[] idx = new int[rank()];
        for (long n = 0; n < size(); n++) {
            MemorySegment.copy(from, src.elementOffset(idx) * bs, segment, elementOffset(idx) * bs, bs);
            increment(idx);
        }
    }

    /** Element offset (in elements, within {@link #segment()}) of the element at {@code idx}. */
    public long elementOffset(int... idx) {
        if (idx.length != rank()) {
            throw new IllegalArgumentException("Index " + Arrays.toString(idx) + " has " + idx.length
                    + " coordinates; tensor rank is " + rank());
        }
        long o = offset;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape.dim(i)) {
                throw new IndexOutOfBoundsException("Index " + Arrays.toString(idx) + " out of bounds for shape "
                        + shape);
            }
            o += idx[i] * strides[i];
        }
        return o;
    }

    /** The float32 element at {@code idx}. */
    public float getFloat(int... idx) {
        requireType(DType.FLOAT32);
        return segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, elementOffset(idx));
    }

    /** Sets the float32 element at {@code idx}. */
    public void setFloat(float value, int... idx) {
        requireType(DType.FLOAT32);
        segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, elementOffset(idx), value);
    }

    /** The element at {@code idx} of any dtype, as a double (bool is 0 or 1, uint8 is 0..255). */
    public double getDouble(int... idx) {
        MemorySegment s = segment();
        long o = elementOffset(idx);
        return switch (dtype) {
            case FLOAT32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o);
            case FLOAT64 -> s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, o);
            case INT8, BOOL -> s.get(ValueLayout.JAVA_BYTE, o);
            case UINT8 -> Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, o));
            case INT32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, o);
            case INT64 -> s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, o);
        };
    }

    /** Sets the element at {@code idx} from a double, converting as a C cast would (saturation not applied). */
    public void setDouble(double value, int... idx) {
        MemorySegment s = segment();
        long o = elementOffset(idx);
        switch (dtype) {
            case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o, (float) value);
            case FLOAT64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, o, value);
            case INT8, UINT8 -> s.set(ValueLayout.JAVA_BYTE, o, (byte) (long) value);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, o, (byte) (value != 0 ? 1 : 0));
            case INT32 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, o, (int) (long) value);
            case INT64 -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, o, (long) value);
        }
    }

    /** The float32 elements in logical row-major order, as a new array. */
    public float[] toFloatArray() {
        requireType(DType.FLOAT32);
        float[] out = new float[Math.toIntExact(size())];
        if (isContiguous()) {
            MemorySegment.copy(segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset * 4, out, 0, out.length);
            return out;
        }
        int[] idx = new int[rank()];
        for (int n = 0; n < out.length; n++) {
            out[n] = segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, elementOffset(idx));
            increment(idx);
        }
        return out;
    }

    /** Copies {@code values} (row-major order) into this float32 tensor. */
    public void copyFrom(float[] values) {
        requireType(DType.FLOAT32);
        checkCount(shape, values.length);
        if (isContiguous()) {
            MemorySegment.copy(values, 0, segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset * 4, values.length);
            return;
        }
        int[] idx = new int[rank()];
        for (float v : values) {
            segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, elementOffset(idx), v);
            increment(idx);
        }
    }

    private void increment(int[] idx) {
        for (int i = idx.length - 1; i >= 0; i--) {
            if (++idx[i] < shape.dim(i)) {
                return;
            }
            idx[i] = 0;
        }
    }

    private void requireType(DType t) {
        if (dtype != t) {
            throw new IllegalStateException("Tensor is " + dtype + ", not " + t);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("Tensor " + dtype + shape + " is closed");
        }
    }

    /** True once {@link #close()} was called on this tensor. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Frees the memory this tensor owns (if it was made by {@link #allocate(DType, Shape)}) and marks this
     * tensor closed. Views of an owning tensor become unusable too. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (owned != null) {
            owned.close();
        }
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype + shape + (isContiguous() ? "" : ", strides " + Arrays.toString(strides)) + ")";
    }
}
