package dev.tandem.runtime.backend;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The settings a backend reads while probing: JVM system properties and environment variables, passed in
 * rather than read globally so that tests can describe any machine.
 *
 * @param properties system properties (e.g. {@code tandem.cuda.libcuda})
 * @param environment environment variables (e.g. {@code CUDA_HOME}, {@code LD_LIBRARY_PATH})
 */
public record BackendEnvironment(Map<String, String> properties, Map<String, String> environment) {
    public BackendEnvironment {
        properties = Map.copyOf(properties);
        environment = Map.copyOf(environment);
    }

    /** The current JVM's system properties and process environment, copied once. */
    public static BackendEnvironment system() {
        Map<String, String> props = new HashMap<>();
        System.getProperties().forEach((k, v) -> {
            if (k instanceof String ks && v instanceof String vs) {
                props.put(ks, vs);
            }
        });
        return new BackendEnvironment(props, System.getenv());
    }

    /** Nothing set: no properties, no environment. */
    public static BackendEnvironment empty() {
        return new BackendEnvironment(Map.of(), Map.of());
    }

    /** A system property, when set and not blank. */
    public Optional<String> property(String name) {
        return nonBlank(properties.get(Objects.requireNonNull(name)));
    }

    /** An environment variable, when set and not blank. */
    public Optional<String> env(String name) {
        return nonBlank(environment.get(Objects.requireNonNull(name)));
    }

    /** A copy with one more system property. */
    public BackendEnvironment withProperty(String name, String value) {
        Map<String, String> m = new HashMap<>(properties);
        m.put(name, value);
        return new BackendEnvironment(m, environment);
    }

    /** A copy with one more environment variable. */
    public BackendEnvironment withEnv(String name, String value) {
        Map<String, String> m = new HashMap<>(environment);
        m.put(name, value);
        return new BackendEnvironment(properties, m);
    }

    private static Optional<String> nonBlank(String v) {
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v);
    }
}
