package dev.tandem.cuda.ffm;

import dev.tandem.cuda.CudaException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One loaded native library ({@code dlopen} of an absolute path through {@link SymbolLookup#libraryLookup(Path,
 * Arena)}) and the downcalls made from its symbols.
 *
 * <p>Libraries are loaded into the global arena and never unloaded: the CUDA libraries keep state for the life of
 * the process (contexts, handles, JIT caches), NVIDIA does not support unloading them, and loading one path again
 * returns the same handle. Thread-safe.
 */
public final class NativeLibrary {
    private final String title;
    private final Path file;
    private final SymbolLookup lookup;

    private NativeLibrary(String title, Path file, SymbolLookup lookup) {
        this.title = title;
        this.file = file;
        this.lookup = lookup;
    }

    /**
     * Loads {@code file}. A file that exists but cannot be loaded (wrong architecture, a missing dependency, not a
     * library) is a {@link CudaException} naming the file and the loader's reason.
     */
    public static NativeLibrary load(String title, Path file) {
        Objects.requireNonNull(file, "file");
        try {
            return new NativeLibrary(title, file, SymbolLookup.libraryLookup(file, Arena.global()));
        } catch (IllegalArgumentException | IllegalCallerException e) {
            throw new CudaException("cannot load " + title + " from " + file + ": " + e.getMessage()
                    + (e instanceof IllegalCallerException ? " (start Java with --enable-native-access=ALL-UNNAMED)"
                    : " (is it a 64-bit Linux library, and are the libraries it needs on LD_LIBRARY_PATH?)"), e);
        }
    }

    /** The file it was loaded from. */
    public Path file() {
        return file;
    }

    /** The name people know it by, e.g. "cuBLAS". */
    public String title() {
        return title;
    }

    /** The address of {@code symbol}, if the library exports it. */
    public Optional<MemorySegment> find(String symbol) {
        return lookup.find(symbol);
    }

    /**
     * A downcall to the first of {@code symbols} the library exports (newer names first, e.g. {@code
     * cuEventElapsedTime_v2} then {@code cuEventElapsedTime}), resolved on first use.
     */
    public Downcall downcall(FunctionDescriptor descriptor, String... symbols) {
        return new Downcall(this, descriptor, List.of(symbols));
    }

    static Linker linker() {
        return Linker.nativeLinker();
    }

    @Override
    public String toString() {
        return title + " (" + file + ")";
    }
}
