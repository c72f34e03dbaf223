package dev.tandem.cuda.discovery;

import dev.tandem.runtime.backend.BackendEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Python {@code site-packages} folders on the machine, and the library folders of NVIDIA's pip wheels inside them
 * ({@code nvidia/cu13/lib} for CUDA 13's combined wheel, {@code nvidia/cublas/lib}, {@code nvidia/cudnn/lib},
 * {@code nvidia/cuda_nvrtc/lib}, ... for the per-library ones). PyTorch installs these; Tandem can use them.
 */
final class SitePackages {
    private SitePackages() {
    }

    /** Every site-packages or dist-packages folder found, in search order, each once. */
    static List<Path> find(BackendEnvironment env, Path root) {
        Set<Path> out = new LinkedHashSet<>();
        env.env("VIRTUAL_ENV").ifPresent(v -> pythonLibs(Path.of(v).resolve("lib"), out));
        env.env("CONDA_PREFIX").ifPresent(v -> pythonLibs(Path.of(v).resolve("lib"), out));
        env.env("HOME").or(() -> env.property("user.home"))
                .ifPresent(h -> pythonLibs(Path.of(h).resolve(".local/lib"), out));
        pythonLibs(root.resolve("usr/local/lib"), out);
        pythonLibs(root.resolve("usr/lib"), out);
        pythonLibs(root.resolve("usr/lib64"), out);
        out.addAll(LibrarySearch.walkForSitePackages(root.resolve("opt")));
        return new ArrayList<>(out);
    }

    private static void pythonLibs(Path lib, Set<Path> out) {
        for (Path py : LibrarySearch.glob(lib, "python3*")) {
            for (String name : List.of("site-packages", "dist-packages")) {
                if (Files.isDirectory(py.resolve(name))) {
                    out.add(py.resolve(name).toAbsolutePath().normalize());
                }
            }
        }
    }

    /** {@code nvidia/cu13/lib} first, then every other {@code nvidia/*}{@code /lib}, sorted. */
    static List<Path> nvidiaLibFolders(Path sitePackages) {
        List<Path> out = new ArrayList<>();
        Path nvidia = sitePackages.resolve("nvidia");
        Path cu13 = nvidia.resolve("cu13/lib");
        if (Files.isDirectory(cu13)) {
            out.add(cu13);
        }
        for (Path pkg : LibrarySearch.glob(nvidia, "*")) {
            Path lib = pkg.resolve("lib");
            if (!lib.equals(cu13) && Files.isDirectory(lib)) {
                out.add(lib);
            }
        }
        return out;
    }
}
