package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;

/**
 * {@code dev.tandem.FusedConv}: a Conv with an optional residual and activation fused into its output, which the
 * graph optimizer produces from Conv + BatchNormalization / Add / Relu / Clip / ... patterns.
 *
 * <p>Contract: inputs X, W, B (optional), Z (optional); every Conv attribute (same meaning and defaults as
 * ONNX Conv); string attribute {@code activation}, one of {@code ""} (none, the default), {@code "Relu"},
 * {@code "Clip"}, {@code "Sigmoid"}, {@code "HardSwish"}, {@code "SiLU"} (x·sigmoid(x)), and for Clip the floats
 * {@code activation_min} (default -inf) and {@code activation_max} (default +inf). Output:
 * {@code Y = activation(conv(X, W) + B + Z)}; Z must have exactly Y's shape (else the node is unsupported).
 * Types: float32 (the fast paths) and float64 (a scalar path, activation in double).
 */
public final class FusedConv implements Op {
    @Override
    public String type() {
        return "FusedConv";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        return ConvSupport.prepare(ctx, "FusedConv", activation(ctx), 3);
    }

    static Activation activation(OpContext ctx) {
        return activation(ctx, "");
    }

    /** The activation in attributes {@code prefix + "activation"} (and its {@code _min}/{@code _max}). */
    static Activation activation(OpContext ctx, String prefix) {
        String a = ctx.attrString(prefix + "activation", "");
        return switch (a) {
            case "" -> Activation.NONE;
            case "Relu" -> Activation.RELU;
            case "Sigmoid" -> Activation.SIGMOID;
            case "HardSwish" -> Activation.HARDSWISH;
            case "SiLU" -> Activation.SILU;
            case "Clip" -> {
                float lo = ctx.attrFloat(prefix + "activation_min", Float.NEGATIVE_INFINITY);
                float hi = ctx.attrFloat(prefix + "activation_max", Float.POSITIVE_INFINITY);
                if (!(lo <= hi)) {
                    throw ctx.fail(prefix + "activation_min must be <= " + prefix + "activation_max; got " + lo
                            + ", " + hi);
                }
                yield Activation.clip(lo, hi);
            }
            default -> throw ctx.unsupported("FusedConv activation '" + a + "' (supported: \"\", Relu, Clip, "
                    + "Sigmoid, HardSwish, SiLU)");
        };
    }
}
