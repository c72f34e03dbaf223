package dev.tandem.cuda;

import dev.tandem.cuda.blas.Cublas;
import dev.tandem.cuda.discovery.CudaLibrary;
import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.cuda.discovery.SearchResult;
import dev.tandem.cuda.dnn.Cudnn;
import dev.tandem.cuda.driver.Driver;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.cuda.nvrtc.Nvrtc;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The CUDA libraries of one machine, found by a {@link LibrarySearch} and loaded on first use, each once: the
 * context every CUDA object is made from (there is no global instance). Finding a file loads nothing; {@link
 * #driver()}, {@link #cublas()}, {@link #nvrtc()} and {@link #cudnn()} load their library (and what it needs
 * first) when called. A library that is missing is a {@link CudaLibraryNotFoundException} saying where discovery
 * looked and what to install. Thread-safe.
 *
 * <p>Dependencies loaded first, from the same folder, so that libraries found outside the linker's default
 * path (pip wheels, {@code CUDA_HOME}) still resolve them: {@code libcublasLt} before {@code libcublas};
 * {@code libnvrtc-builtins} before {@code libnvrtc}; cuDNN 9's sub-libraries ({@code libcudnn_graph},
 * {@code libcudnn_ops}, {@code libcudnn_cnn}, ...) before {@code libcudnn}. A dependency that fails to load is
 * noted in {@link #loaded()} and left to the library's own loader.
 */
public final class CudaLibraries {
    /** cuDNN 9 sub-libraries in dependency order (the shim {@code libcudnn.so.9} opens them by name). */
    static final List<String> CUDNN_PARTS = List.of("libcudnn_graph.so.9", "libcudnn_engines_runtime_compiled.so.9",
            "libcudnn_engines_precompiled.so.9", "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
            "libcudnn_adv.so.9");

    private final LibrarySearch search;
    private final Map<CudaLibrary, SearchResult> found = new EnumMap<>(CudaLibrary.class);
    private final Map<CudaLibrary, NativeLibrary> loadedLibs = new EnumMap<>(CudaLibrary.class);
    private final List<String> notes = new ArrayList<>();
    private Driver driver;
    private Cublas cublas;
    private Nvrtc nvrtc;
    private Cudnn cudnn;

    /** Libraries found by {@code search}; nothing is searched or loaded yet. */
    public CudaLibraries(LibrarySearch search) {
        this.search = search;
    }

    /** The search used. */
    public LibrarySearch search() {
        return search;
    }

    /** Where {@code library} is (searched once, then remembered). Loads nothing. */
    public synchronized SearchResult locate(CudaLibrary library) {
        return found.computeIfAbsent(library, search::find);
    }

    /** The driver API, loading {@code libcuda} on first call. */
    public synchronized Driver driver() {
        if (driver == null) {
            driver = new Driver(load(CudaLibrary.DRIVER));
        }
        return driver;
    }

    /** cuBLAS, loading {@code libcublasLt} and {@code libcublas} on first call. */
    public synchronized Cublas cublas() {
        if (cublas == null) {
            load(CudaLibrary.CUBLAS_LT);
            cublas = new Cublas(load(CudaLibrary.CUBLAS));
        }
        return cublas;
    }

    /** NVRTC, loading {@code libnvrtc} (after its builtins) on first call. */
    public synchronized Nvrtc nvrtc() {
        if (nvrtc == null) {
            SearchResult r = require(CudaLibrary.NVRTC);
            preloadSiblings(r.file().orElseThrow().getParent(), builtins(r.file().orElseThrow().getParent()));
            nvrtc = new Nvrtc(load(CudaLibrary.NVRTC));
        }
        return nvrtc;
    }

    /** cuDNN 9, loading its sub-libraries and {@code libcudnn.so.9} on first call. */
    public synchronized Cudnn cudnn() {
        if (cudnn == null) {
            SearchResult r = require(CudaLibrary.CUDNN);
            preloadSiblings(r.file().orElseThrow().getParent(), CUDNN_PARTS);
            cudnn = new Cudnn(load(CudaLibrary.CUDNN));
        }
        return cudnn;
    }

    /** One line per library loaded so far (file and where it was found), then notes on dependencies. */
    public synchronized List<String> loaded() {
        List<String> lines = new ArrayList<>();
        for (CudaLibrary l : loadedLibs.keySet()) {
            lines.add(found.get(l).describe());
        }
        lines.addAll(notes);
        return lines;
    }

    private NativeLibrary load(CudaLibrary library) {
        NativeLibrary lib = loadedLibs.get(library);
        if (lib == null) {
            SearchResult r = require(library);
            lib = NativeLibrary.load(library.title(), r.file().orElseThrow());
            loadedLibs.put(library, lib);
        }
        return lib;
    }

    private SearchResult require(CudaLibrary library) {
        SearchResult r = locate(library);
        if (!r.found()) {
            throw new CudaLibraryNotFoundException(r);
        }
        return r;
    }

    private void preloadSiblings(Path folder, List<String> names) {
        for (String name : names) {
            Path f = folder.resolve(name);
            if (Files.isRegularFile(f)) {
                try {
                    NativeLibrary.load(name, f);
                } catch (CudaException e) {
                    notes.add("could not preload " + f + ": " + e.getMessage());
                }
            }
        }
    }

    /** {@code libnvrtc-builtins.so.13.0} and the like in {@code folder}, most specific name first. */
    private static List<String> builtins(Path folder) {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder, "libnvrtc-builtins.so.*")) {
            ds.forEach(p -> names.add(p.getFileName().toString()));
        } catch (IOException | SecurityException e) {
            return names;
        }
        names.sort((a, b) -> Integer.compare(b.length(), a.length()));
        return names.isEmpty() ? names : List.of(names.getFirst());
    }
}
