package dev.tandem.runtime.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackendsTest {
    @Test
    void findsProvidersThroughServiceLoaderAndSkipsBrokenEntries() {
        // META-INF/services also lists a class that does not exist: it is skipped, not fatal.
        Backends b = Backends.installed(getClass().getClassLoader());
        assertThat(b.all()).extracting(BackendProvider::name).contains("fake");
        assertThat(b.find("FAKE")).isPresent();
        assertThat(b.find("cuda")).isEmpty();
    }

    @Test
    void probeAnswersNameWhatIsMissingOrWhatRuns() {
        BackendProvider p = Backends.of(List.of(new FakeBackendProvider())).find("fake").orElseThrow();
        BackendProbe none = p.probe(BackendEnvironment.empty());
        assertThat(none.available()).isFalse();
        assertThat(none.supports(Capability.INFERENCE)).isFalse();
        assertThat(none.whyNot(Capability.TRAINING)).isEqualTo("no fake device: set fake.device");

        BackendProbe some = p.probe(BackendEnvironment.empty().withProperty("fake.device", "Fake 1"));
        assertThat(some.available()).isTrue();
        assertThat(some.summary()).isEqualTo("Fake 1");
        assertThat(some.supports(Capability.INFERENCE)).isTrue();
        assertThat(some.supports(Capability.TRAINING)).isFalse();
        assertThat(some.whyNot(Capability.TRAINING)).isEqualTo("training is not implemented yet");
        assertThat(some.whyNot(Capability.INFERENCE)).isEmpty();
    }

    @Test
    void anUnavailableProbeOffersNothing() {
        assertThatThrownBy(() -> new BackendProbe("x", false, "why", List.of(), Set.of(Capability.TRAINING), Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void environmentIgnoresBlankValues() {
        BackendEnvironment e = BackendEnvironment.empty().withEnv("CUDA_HOME", " ").withEnv("A", "b");
        assertThat(e.env("CUDA_HOME")).isEmpty();
        assertThat(e.env("A")).contains("b");
        assertThat(BackendEnvironment.system().environment()).isEqualTo(System.getenv());
    }
}
