package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.graph.Node;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Gradient rules by op (domain and type), like {@link dev.tandem.runtime.ops.OpRegistry} for kernels.
 * {@link #standard()} holds every rule Tandem ships; a gradient check in the tests covers each.
 */
public final class Rules {
    private final Map<String, GradientRule> rules = new TreeMap<>();

    public static Rules standard() {
        Rules r = new Rules();
        MathRules.register(r);
        NnRules.register(r);
        ShapeRules.register(r);
        return r;
    }

    /** Adds a default-domain rule. */
    public Rules add(String type, GradientRule rule) {
        rules.put(type, rule);
        return this;
    }

    /** Adds a rule for a {@code dev.tandem} op. */
    public Rules addTandem(String type, GradientRule rule) {
        rules.put(Node.TANDEM_DOMAIN + "." + type, rule);
        return this;
    }

    public GradientRule find(String domain, String type) {
        return rules.get(domain == null || domain.isEmpty() ? type : domain + "." + type);
    }

    /** The ops with rules ("domain.Type" outside the default domain), sorted. */
    public Map<String, GradientRule> all() {
        return Collections.unmodifiableMap(rules);
    }
}
