package dev.tandem.runtime.ops;

import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Weights an op has prepared for its kernels (packed for the GEMM, transformed for Winograd), kept once per model
 * and shared by every plan: a model planned for several input shapes (batch sizes) packs each weight once, not once
 * per plan.
 *
 * <p>When built with {@code release}, the graph's own copy of a weight is freed as soon as every node that reads it
 * has said ({@link #packedOnly}) that it reads it only through what it cached here. The model's weights are then
 * held once (packed) instead of twice; the price is that the graph's tensor for such a weight is closed: reading it
 * (not its shape or type) throws {@link IllegalStateException}. Later plans find the packed form here and never read
 * it.
 */
public final class PackedWeights {
    private final ConcurrentHashMap<Object, Object> cache = new ConcurrentHashMap<>();
    private final boolean release;
    private final boolean caching;
    /** Per releasable constant, the nodes that read it, less those that said they read it only packed. */
    private final Map<Value, Set<Node>> pendingReaders = new IdentityHashMap<>();
    /** How to size what was built, per key of {@link #cache}, for the entries built with a size. */
    private final ConcurrentHashMap<Object, ToLongFunction<Object>> sizes = new ConcurrentHashMap<>();
    private long releasedBytes;                 // guarded by this

    /**
     * @param graph   the graph whose constants may be released (its outputs never are)
     * @param release whether to free a constant once all its readers read it packed
     */
    public PackedWeights(Graph graph, boolean release) {
        this(graph, release, true);
    }

    private PackedWeights(Graph graph, boolean release, boolean caching) {
        this.release = release;
        this.caching = caching;
        if (!release) {
            return;
        }
        Set<Value> outputs = Collections.newSetFromMap(new IdentityHashMap<>());
        outputs.addAll(graph.outputs());
        for (Node n : graph.nodes()) {
            for (Value v : n.inputs()) {
                if (v != null && v.isConstant() && !outputs.contains(v)) {
                    pendingReaders.computeIfAbsent(v, k -> Collections.newSetFromMap(new IdentityHashMap<>())).add(n);
                }
            }
        }
    }

    private static final PackedWeights NONE = new PackedWeights(null, false, false);

    /** No cache: {@link #get} builds every time, nothing is released (graphs planned without a model). */
    public static PackedWeights none() {
        return NONE;
    }

    /** What {@code make} builds for {@code key}, built once per key for the life of this object. */
    public <T> T get(Object key, Supplier<T> make) {
        return get(key, make, t -> 0L);
    }

    /**
     * As {@link #get(Object, Supplier)}, counting what is built in {@link #preparedBytes()} ({@code bytes} says how
     * many bytes of memory it holds).
     */
    @SuppressWarnings("unchecked")
    public <T> T get(Object key, Supplier<T> make, ToLongFunction<? super T> bytes) {
        if (!caching) {
            return make.get();
        }
        return (T) cache.computeIfAbsent(key, k -> {
            T t = make.get();
            sizes.put(k, o -> bytes.applyAsLong((T) o));
            return t;
        });
    }

    /**
     * Bytes held now by what was built here with a size ({@link #get(Object, Supplier, ToLongFunction)}), asked of
     * each entry at this call (what an entry builds lazily, such as a convolution's Winograd weights on its first
     * run, counts from then on).
     */
    public long preparedBytes() {
        long b = 0;
        for (Map.Entry<Object, ToLongFunction<Object>> e : sizes.entrySet()) {
            Object v = cache.get(e.getKey());
            if (v != null) {
                b += e.getValue().applyAsLong(v);
            }
        }
        return b;
    }

    /** Bytes of the graph's constants freed here ({@link #packedOnly}). */
    public synchronized long releasedBytes() {
        return releasedBytes;
    }

    /**
     * Whether a node's prepared weights stay valid for every plan: its geometry does not depend on the image size
     * (explicit pads, not {@code auto_pad} SAME_*), so that it may say {@link #packedOnly} of its weights.
     */
    public static boolean fixedGeometry(OpContext ctx) {
        String autoPad = ctx.attrString("auto_pad", "NOTSET");
        return autoPad.equals("NOTSET") || autoPad.equals("VALID");
    }

    /** Fails, naming the way out, when a weight an op is about to prepare again was freed. */
    public static void requireUnreleased(OpContext ctx, String op, Tensor... weights) {
        for (Tensor t : weights) {
            if (t != null && t.isClosed()) {
                throw ctx.fail(op + " weights were freed after they were prepared for another geometry; load the "
                        + "model with Model.Options.withKeepWeights(true) to plan it for new geometries");
            }
        }
    }

    /**
     * Says that {@code node} reads its inputs at {@code inputs} only through what it cached here, in this plan and
     * in every later one; a constant that every node reading it said so of is freed (when releasing).
     */
    public synchronized void packedOnly(Node node, int... inputs) {
        if (!release) {
            return;
        }
        for (int i : inputs) {
            Value v = i < node.inputs().size() ? node.input(i) : null;
            Set<Node> pending = v == null ? null : pendingReaders.get(v);
            if (pending == null || !pending.remove(node) || !pending.isEmpty()) {
                continue;
            }
            pendingReaders.remove(v);
            Tensor t = v.constant();
            if (t != null && !t.isClosed()) {
                releasedBytes += t.size() * t.dtype().byteSize();
                t.close();
            }
        }
    }

    /** Whether this cache frees the graph's copies of packed weights. */
    public boolean releases() {
        return release;
    }
}
