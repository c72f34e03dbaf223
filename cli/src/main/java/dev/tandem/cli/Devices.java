package dev.tandem.cli;

import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.BackendProvider;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import dev.tandem.runtime.backend.DeviceSession;
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

    /**
     * The device training runs on: its name ("cpu" or the backend's, e.g. "cuda") and, for a GPU, the opened
     * session (null for the CPU), which the caller closes after training.
     */
    record Choice(String name, DeviceSession session) implements AutoCloseable {
        static final Choice CPU = new Choice("cpu", null);

        @Override
        public void close() {
            if (session != null) {
                session.close();
            }
        }
    }

    /** The device training runs on; a GPU whose backend offers training is opened here. */
    static Choice forTraining(CommandSpec spec, String device, PrintWriter err) {
        return forTraining(spec, device, err, () -> Backends.installed(Devices.class.getClassLoader()),
                BackendEnvironment::system);
    }

    /** As {@link #forTraining(CommandSpec, String, PrintWriter)} with the backends and settings given. */
    static Choice forTraining(CommandSpec spec, String device, PrintWriter err, Supplier<Backends> backends,
                              Supplier<BackendEnvironment> environment) {
        String cores = Runtime.getRuntime().availableProcessors() + " cores";
        switch (device) {
            case "cpu" -> {
                return Choice.CPU;
            }
            case "auto" -> {
                Optional<BackendProvider> cuda = backends.get().find("cuda");
                if (cuda.isEmpty()) {
                    err.println("Device: cpu (" + cores + "; this build has no GPU backend)");
                    return Choice.CPU;
                }
                BackendEnvironment env = environment.get();
                BackendProbe p = cuda.get().probe(env);
                if (!p.available()) {
                    err.println("Device: cpu (" + cores + "); no usable GPU: " + p.summary()
                            + " (--device cuda says what to fix)");
                } else if (!p.supports(Capability.TRAINING)) {
                    err.println("Device: cpu (" + cores + "); found GPU " + p.summary() + ", but "
                            + p.whyNot(Capability.TRAINING));
                } else {
                    try {
                        return opened(cuda.get(), env, err);
                    } catch (RuntimeException e) {
                        err.println("Device: cpu (" + cores + "); found GPU " + p.summary() + ", but it failed to "
                                + "open: " + reason(e));
                    }
                }
                return Choice.CPU;
            }
            case "cuda" -> {
                Optional<BackendProvider> cuda = backends.get().find("cuda");
                if (cuda.isEmpty()) {
                    throw new ParameterException(spec.commandLine(), "--device cuda: this build of Tandem has no "
                            + "CUDA backend (tandem-cuda is not on the class path); use --device cpu (or auto)");
                }
                BackendEnvironment env = environment.get();
                BackendProbe p = cuda.get().probe(env);
                if (!p.available()) {
                    StringBuilder m = new StringBuilder("--device cuda: no usable GPU: " + p.summary());
                    p.details().forEach(d -> m.append('\n').append(d));
                    throw new ParameterException(spec.commandLine(), m.toString());
                }
                if (!p.supports(Capability.TRAINING)) {
                    throw new ParameterException(spec.commandLine(), "--device cuda: found GPU " + p.summary()
                            + ", but " + p.whyNot(Capability.TRAINING) + "; use --device cpu (or auto)");
                }
                try {
                    return opened(cuda.get(), env, err);
                } catch (RuntimeException e) {
                    throw new ParameterException(spec.commandLine(), "--device cuda: found GPU " + p.summary()
                            + ", but it failed to open: " + reason(e) + "; use --device cpu (or auto)", e);
                }
            }
            default -> throw new ParameterException(spec.commandLine(), "--device must be auto, cpu or cuda; got '"
                    + device + "'");
        }
    }

    private static Choice opened(BackendProvider provider, BackendEnvironment env, PrintWriter err) {
        DeviceSession s = provider.open(env);
        if (s == null) {
            throw new IllegalStateException("the " + provider.name() + " backend opened no device");
        }
        err.println("Device: " + s.summary());
        return new Choice(provider.name(), s);
    }

    private static String reason(RuntimeException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
