package dev.tandem.runtime.ops;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ops a model may use, by domain and type. {@link #standard()} holds every op Tandem ships; an app that needs
 * fewer may build its own. Immutable once built; safe to share.
 */
public final class OpRegistry {
    private final Map<String, Op> ops = new TreeMap<>();

    /** Every op Tandem implements. */
    public static OpRegistry standard() {
        OpRegistry r = new OpRegistry();
        dev.tandem.runtime.ops.math.MathOps.register(r);
        dev.tandem.runtime.ops.nn.NnOps.register(r);
        dev.tandem.runtime.ops.shape.ShapeOps.register(r);
        dev.tandem.runtime.ops.train.TrainOps.register(r);
        dev.tandem.runtime.ops.quant.QuantOps.register(r);
        return r;
    }

    /** Adds an op, replacing any with the same domain and type. */
    public OpRegistry add(Op op) {
        ops.put(key(op.domain(), op.type()), op);
        return this;
    }

    /** The op for a node, or null when none is registered. */
    public Op find(String domain, String type) {
        return ops.get(key(domain, type));
    }

    /** Registered ops by "domain.type" ("Type" for the default domain), sorted. */
    public Map<String, Op> all() {
        return Collections.unmodifiableMap(ops);
    }

    private static String key(String domain, String type) {
        return domain == null || domain.isEmpty() || domain.equals("ai.onnx") ? type : domain + "." + type;
    }
}
