package dev.tandem.runtime.backend;

import java.util.List;

/** A provider registered in the test resources' META-INF/services, so ServiceLoader discovery is tested. */
public final class FakeBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String description() {
        return "a test double";
    }

    @Override
    public BackendProbe probe(BackendEnvironment environment) {
        return environment.property("fake.device")
                .map(d -> BackendProbe.available("fake", d, List.of(), java.util.Set.of(Capability.INFERENCE),
                        java.util.Map.of(Capability.TRAINING, "training is not implemented yet")))
                .orElseGet(() -> BackendProbe.unavailable("fake", "no fake device: set fake.device", List.of()));
    }
}
