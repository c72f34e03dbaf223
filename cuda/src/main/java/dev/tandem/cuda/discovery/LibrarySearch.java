package dev.tandem.cuda.discovery;

import dev.tandem.runtime.backend.BackendEnvironment;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the CUDA libraries' files without loading anything (loading is the bindings' job), so the search can be tested anywhere with fake folders.
 *
 * <p>Order, first match wins (folder by folder; in each folder the newest file name first):
 * <ol>
 *   <li>the explicit setting: system property {@code tandem.cuda.<key>}, else environment variable
 *       {@code TANDEM_<KEY>} (a file, or a folder holding it). When set, nothing else is searched: a setting
 *       that names nothing usable is reported as the problem;</li>
 *   <li>{@code CUDA_HOME}, then {@code CUDA_PATH}: their {@code lib64}, {@code targets/x86_64-linux/lib} and
 *       {@code lib};</li>
 *   <li>each {@code LD_LIBRARY_PATH} entry;</li>
 *   <li>{@code /usr/local/cuda/lib64}, {@code /usr/local/cuda/targets/x86_64-linux/lib};</li>
 *   <li>{@code /usr/lib/x86_64-linux-gnu}, {@code /usr/lib}, {@code /usr/lib64}, {@code /usr/local/nvidia/lib64},
 *       {@code /usr/lib/wsl/lib};</li>
 *   <li>the folders listed in {@code /etc/ld.so.conf} and {@code /etc/ld.so.conf.d/*.conf};</li>
 *   <li>versioned toolkits: {@code /usr/local/cuda-*}{@code /targets/x86_64-linux/lib} and {@code lib64},
 *       newest first;</li>
 *   <li>the NVIDIA pip wheels' {@code nvidia/cu13/lib} then {@code nvidia/*}{@code /lib} in every
 *       {@code site-packages} or {@code dist-packages} found: {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX} (and its
 *       {@code lib}), {@code ~/.local}, {@code /usr/lib/python3*}, {@code /usr/local/lib/python3*}, and under
 *       {@code /opt} up to {@value #OPT_DEPTH} folders deep.</li>
 * </ol>
 *
 * <p>The fixed locations are resolved under a root folder ({@code /} normally; a temporary folder in tests).
 * An instance computes its folder list once and is then immutable and thread-safe.
 */
public final class LibrarySearch {
    /** How deep below {@code /opt} a {@code site-packages} folder is looked for. */
    static final int OPT_DEPTH = 6;
    /** At most this many folders are visited under {@code /opt}, so a huge tree cannot stall a probe. */
    static final int OPT_MAX_FOLDERS = 4000;

    private final BackendEnvironment env;
    private final Path root;
    private List<SearchPlace> places;

    /** A search of this machine with the given settings. */
    public LibrarySearch(BackendEnvironment env) {
        this(env, Path.of("/"));
    }

    /** A search whose fixed locations ({@code /usr/...}, {@code /opt}, {@code /etc}) lie under {@code root}. */
    public LibrarySearch(BackendEnvironment env, Path root) {
        this.env = env;
        this.root = root;
    }

    /** The settings this search reads. */
    public BackendEnvironment environment() {
        return env;
    }

    /** Looks for {@code library}: the file, or where it looked and why nothing fit. */
    public SearchResult find(CudaLibrary library) {
        Optional<String> explicit = env.property(library.property());
        String origin = "-D" + library.property();
        if (explicit.isEmpty()) {
            explicit = env.env(library.envVariable());
            origin = library.envVariable();
        }
        if (explicit.isPresent()) {
            return explicit(library, explicit.get(), origin);
        }
        List<SearchPlace> looked = new ArrayList<>();
        for (SearchPlace place : places()) {
            looked.add(place);
            for (String name : library.fileNames()) {
                Path f = place.folder().resolve(name);
                if (SearchResult.isFile(f)) {
                    return new SearchResult(library, Optional.of(f), place.origin(), looked, "");
                }
            }
        }
        return new SearchResult(library, Optional.empty(), "", looked, "");
    }

    /** Every library, in {@link CudaLibrary} order. */
    public Map<CudaLibrary, SearchResult> findAll(Set<CudaLibrary> libraries) {
        Map<CudaLibrary, SearchResult> m = new LinkedHashMap<>();
        for (CudaLibrary l : EnumSet.copyOf(libraries)) {
            m.put(l, find(l));
        }
        return m;
    }

    private SearchResult explicit(CudaLibrary library, String value, String origin) {
        Path p = Path.of(value);
        Path abs = p.toAbsolutePath();
        SearchPlace place = new SearchPlace(origin, Files.isDirectory(abs) || abs.getParent() == null ? abs
                : abs.getParent());
        if (SearchResult.isFile(p)) {
            return new SearchResult(library, Optional.of(p), origin, List.of(place), "");
        }
        if (Files.isDirectory(p)) {
            for (String name : library.fileNames()) {
                if (SearchResult.isFile(p.resolve(name))) {
                    return new SearchResult(library, Optional.of(p.resolve(name)), origin, List.of(place), "");
                }
            }
            return new SearchResult(library, Optional.empty(), "", List.of(place), origin + "=" + value
                    + " is a folder without " + String.join(" or ", library.fileNames()));
        }
        return new SearchResult(library, Optional.empty(), "", List.of(place), origin + "=" + value
                + ": no such file or folder");
    }

    /** The folders searched after the explicit setting, in order, each once. */
    public synchronized List<SearchPlace> places() {
        if (places == null) {
            places = List.copyOf(computePlaces());
        }
        return places;
    }

    private List<SearchPlace> computePlaces() {
        Map<Path, SearchPlace> out = new LinkedHashMap<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            env.env(var).ifPresent(home -> {
                Path h = Path.of(home);
                add(out, var, h.resolve("lib64"));
                add(out, var, h.resolve("targets/x86_64-linux/lib"));
                add(out, var, h.resolve("lib"));
            });
        }
        env.env("LD_LIBRARY_PATH").ifPresent(v -> {
            for (String entry : v.split(":")) {
                if (!entry.isBlank()) {
                    add(out, "LD_LIBRARY_PATH", Path.of(entry));
                }
            }
        });
        for (String dir : List.of("usr/local/cuda/lib64", "usr/local/cuda/targets/x86_64-linux/lib",
                "usr/lib/x86_64-linux-gnu", "usr/lib", "usr/lib64", "usr/local/nvidia/lib64", "usr/lib/wsl/lib")) {
            add(out, "standard", root.resolve(dir));
        }
        for (Path dir : LdSoConf.folders(root)) {
            add(out, "ld.so.conf", dir);
        }
        for (Path toolkit : newestFirst(glob(root.resolve("usr/local"), "cuda-*"))) {
            add(out, "toolkit", toolkit.resolve("targets/x86_64-linux/lib"));
            add(out, "toolkit", toolkit.resolve("lib64"));
        }
        env.env("CONDA_PREFIX").ifPresent(c -> add(out, "CONDA_PREFIX", Path.of(c).resolve("lib")));
        for (Path site : SitePackages.find(env, root)) {
            for (Path lib : SitePackages.nvidiaLibFolders(site)) {
                add(out, "pip wheel", lib);
            }
        }
        return new ArrayList<>(out.values());
    }

    private static void add(Map<Path, SearchPlace> out, String origin, Path folder) {
        Path key = folder.toAbsolutePath().normalize();
        if (!out.containsKey(key) && Files.isDirectory(key)) {
            out.put(key, new SearchPlace(origin, key));
        }
    }

    /** Folders directly in {@code dir} whose names match {@code pattern}, sorted by name. */
    static List<Path> glob(Path dir, String pattern) {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return found;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) {
                    found.add(p);
                }
            }
        } catch (IOException | SecurityException e) {
            // An unreadable folder holds nothing we can load.
        }
        found.sort(Comparator.comparing(Path::toString));
        return found;
    }

    /** Sorts "cuda-12.4", "cuda-13.0", "cuda-9.2" newest first by their numeric parts. */
    static List<Path> newestFirst(List<Path> versioned) {
        List<Path> s = new ArrayList<>(versioned);
        s.sort(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString())).reversed());
        return s;
    }

    private static String versionKey(String name) {
        StringBuilder b = new StringBuilder();
        for (String part : name.replaceAll("[^0-9.]", "").split("\\.")) {
            if (!part.isEmpty()) {
                b.append(String.format("%08d", Long.parseLong(part.length() > 8 ? part.substring(0, 8) : part)));
            }
        }
        return b.toString();
    }

    /** Walks {@code /opt} for site-packages; kept here for the depth and size bounds. */
    static List<Path> walkForSitePackages(Path top) {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(top)) {
            return found;
        }
        int[] visited = {0};
        try {
            Files.walkFileTree(top, Set.of(), OPT_DEPTH, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    if (++visited[0] > OPT_MAX_FOLDERS) {
                        return FileVisitResult.TERMINATE;
                    }
                    String n = dir.getFileName() == null ? "" : dir.getFileName().toString();
                    if (n.equals("site-packages") || n.equals("dist-packages")) {
                        found.add(dir);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    if (n.equals("node_modules") || n.equals("__pycache__") || n.equals(".git")
                            || n.equals("include") || n.equals("share")) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | SecurityException e) {
            // Whatever was found before the failure still counts.
        }
        found.sort(Comparator.comparing(Path::toString));
        return found;
    }
}
