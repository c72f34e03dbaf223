package dev.tandem.cuda.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Tandem's CUDA C kernel sources, read from the class path ({@code dev/tandem/cuda/kernels/}). Adding a file means
 * adding its name to {@link #FILES} (a test checks that every {@code .cu} file in the folder is listed).
 */
public final class KernelSources {
    /** The compilation units, in load order. */
    public static final List<String> FILES = List.of("elementwise.cu", "bias.cu", "pool.cu", "batchnorm.cu",
            "loss.cu", "reduce.cu", "optim.cu", "cast.cu", "graph.cu");
    /** The prelude every unit starts with. */
    public static final String PRELUDE = "common.cuh";
    private static final String FOLDER = "/dev/tandem/cuda/kernels/";

    private final List<KernelSource> sources;
    private final Map<String, KernelSource> byKernel = new HashMap<>();

    private KernelSources(List<KernelSource> sources) {
        this.sources = List.copyOf(sources);
        for (KernelSource s : sources) {
            for (KernelSignature k : s.kernels()) {
                KernelSource prev = byKernel.put(k.name(), s);
                if (prev != null) {
                    throw new IllegalStateException("kernel " + k.name() + " is declared in both " + prev.name()
                            + " and " + s.name());
                }
            }
        }
    }

    /** Reads every unit from the class path. */
    public static KernelSources load() {
        String prelude = read(PRELUDE);
        List<KernelSource> list = new ArrayList<>();
        for (String f : FILES) {
            String text = prelude + "\n// ---- " + f + " ----\n" + read(f);
            list.add(new KernelSource(f, text, KernelSignature.parseAll(read(f))));
        }
        return new KernelSources(list);
    }

    /** All units, in {@link #FILES} order. */
    public List<KernelSource> all() {
        return sources;
    }

    /** The unit declaring {@code kernel}. */
    public Optional<KernelSource> sourceOf(String kernel) {
        return Optional.ofNullable(byKernel.get(kernel));
    }

    /** The signature of {@code kernel}; an unknown name is an {@link IllegalArgumentException}. */
    public KernelSignature signature(String kernel) {
        KernelSource s = byKernel.get(kernel);
        if (s == null) {
            throw new IllegalArgumentException("no kernel '" + kernel + "' in " + FILES);
        }
        return s.kernels().stream().filter(k -> k.name().equals(kernel)).findFirst().orElseThrow();
    }

    private static String read(String file) {
        try (InputStream in = KernelSources.class.getResourceAsStream(FOLDER + file)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + FOLDER + file + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + file, e);
        }
    }
}
