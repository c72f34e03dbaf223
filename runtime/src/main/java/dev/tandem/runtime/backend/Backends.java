package dev.tandem.runtime.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The backends installed on the class path, found through {@link ServiceLoader} (a module such as
 * {@code tandem-cuda} lists its {@link BackendProvider} in {@code META-INF/services}). Finding providers loads
 * their classes but no native library. An instance is an immutable snapshot; there is no global registry.
 */
public final class Backends {
    private final List<BackendProvider> providers;

    private Backends(List<BackendProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    /** The providers visible to {@code loader}, sorted by name. A provider that fails to load is skipped. */
    public static Backends installed(ClassLoader loader) {
        List<BackendProvider> found = new ArrayList<>();
        var it = ServiceLoader.load(BackendProvider.class, loader).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError e) {
                // A broken provider jar must not take the CPU path down with it; it is simply not offered.
            }
        }
        found.sort(Comparator.comparing(BackendProvider::name));
        return new Backends(found);
    }

    /** Exactly these providers (tests, embedding). */
    public static Backends of(List<BackendProvider> providers) {
        return new Backends(providers);
    }

    /** All providers, sorted by name. */
    public List<BackendProvider> all() {
        return providers;
    }

    /** The provider called {@code name} (case-insensitive). */
    public Optional<BackendProvider> find(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return providers.stream().filter(p -> p.name().equals(n)).findFirst();
    }
}
