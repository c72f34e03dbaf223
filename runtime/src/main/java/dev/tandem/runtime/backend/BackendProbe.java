package dev.tandem.runtime.backend;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The answer of {@link BackendProvider#probe}: whether the backend found a usable device, which one, and what it
 * can run on it.
 *
 * @param backend the provider's name
 * @param available whether a device was found and initialised
 * @param summary when available, the device in one line (name, memory, driver); otherwise why not, naming what is
 *     missing and the fix
 * @param details more lines for {@code -v} output: which library files were loaded, where it looked
 * @param capabilities what the backend runs on the device (empty when unavailable)
 * @param unsupported for capabilities it lacks on an available device, why (e.g. "not implemented yet: issue #5")
 */
public record BackendProbe(String backend, boolean available, String summary, List<String> details,
                           Set<Capability> capabilities, Map<Capability, String> unsupported) {
    public BackendProbe {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(summary, "summary");
        details = List.copyOf(details);
        capabilities = capabilities.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(capabilities));
        unsupported = Map.copyOf(unsupported);
        if (!available && !capabilities.isEmpty()) {
            throw new IllegalArgumentException("an unavailable backend offers no capabilities");
        }
    }

    /** No usable device: {@code reason} names what is missing and how to fix it. */
    public static BackendProbe unavailable(String backend, String reason, List<String> details) {
        return new BackendProbe(backend, false, reason, details, Set.of(), Map.of());
    }

    /** A usable device described by {@code summary}, offering {@code capabilities}; the others are explained. */
    public static BackendProbe available(String backend, String summary, List<String> details,
                                         Set<Capability> capabilities, Map<Capability, String> unsupported) {
        return new BackendProbe(backend, true, summary, details, capabilities, unsupported);
    }

    /** Whether the device is usable for {@code capability}. */
    public boolean supports(Capability capability) {
        return available && capabilities.contains(capability);
    }

    /** Why {@code capability} cannot run here: the probe's reason, or the backend's note on that capability. */
    public String whyNot(Capability capability) {
        if (!available) {
            return summary;
        }
        if (capabilities.contains(capability)) {
            return "";
        }
        return unsupported.getOrDefault(capability, capability.name().toLowerCase(java.util.Locale.ROOT)
                + " is not supported by the " + backend + " backend");
    }

}
