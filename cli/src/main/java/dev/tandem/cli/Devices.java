package dev.tandem.cli;

import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The {@code --device} choice of {@code tandem train}: {@code cpu} never looks for a GPU (no CUDA library is
 * loaded); {@code auto} probes the GPU backends found through {@link java.util.ServiceLoader} and says which device
 * it uses, or why the CPU; {@code cuda} fails unless a GPU can run training, naming what is missing.
 */
final class Devices {
    private Devices() {
    }

    /** The device training runs on. Today always "cpu": no backend offers GPU training yet (issue #5). */
    static String forTraining(CommandSpec spec, String device, PrintWriter err) {
        return forTraining(spec, device, err, () -> Backends.installed(Devices.class.getClassLoader()),
                BackendEnvironment::system);
    }

    /** As {@link #forTraining(CommandSpec, String, PrintWriter)} with the backends and settings given. */
    static String forTraining(CommandSpec spec, String device, PrintWriter err, Supplier<Backends> backends,
                              Supplier<BackendEnvironment> environment) {
        String cores = Runtime.getRuntime().availableProcessors() + " cores";
        switch (device) {
            case "cpu" -> {
                return "cpu";
            }
            case "auto" -> {
                Optional<BackendProvider> cuda = backends.get().find("cuda");
                if (cuda.isEmpty()) {
                    err.println("Device: cpu (" + cores + "; this build has no GPU backend)");
                    return "cpu";
                }
                BackendProbe p = cuda.get().probe(environment.get());
                if (!p.available()) {
                    err.println("Device: cpu (" + cores + "); no usable GPU: " + p.summary()
                            + " (--device cuda says what to fix)");
                } else if (!p.supports(Capability.TRAINING)) {
                    err.println("Device: cpu (" + cores + "); found GPU " + p.summary() + ", but "
                            + p.whyNot(Capability.TRAINING));
                } else {
                    // No backend claims training yet; when one does, the trainer must take the device from here.
                    throw new ParameterException(spec.commandLine(), "--device auto found " + p.summary()
                            + " able to train, but this build's trainer cannot use it; use --device cpu");
                }
                return "cpu";
            }
            case "cuda" -> {
                Optional<BackendProvider> cuda = backends.get().find("cuda");
                if (cuda.isEmpty()) {
                    throw new ParameterException(spec.commandLine(), "--device cuda: this build of Tandem has no "
                            + "CUDA backend (tandem-cuda is not on the class path); use --device cpu (or auto)");
                }
                BackendProbe p = cuda.get().probe(environment.get());
                if (!p.available()) {
                    StringBuilder m = new StringBuilder("--device cuda: no usable GPU: " + p.summary());
                    p.details().forEach(d -> m.append('\n').append(d));
                    throw new ParameterException(spec.commandLine(), m.toString());
                }
                if (!p.supports(Capability.TRAINING)) {
                    throw new ParameterException(spec.commandLine(), "--device cuda: found GPU " + p.summary()
                            + ", but " + p.whyNot(Capability.TRAINING) + "; use --device cpu (or auto)");
                }
                throw new ParameterException(spec.commandLine(), "--device cuda: found " + p.summary()
                        + " able to train, but this build's trainer cannot use it; use --device cpu");
            }
            default -> throw new ParameterException(spec.commandLine(), "--device must be auto, cpu or cuda; got '"
                    + device + "'");
        }
    }
}
