package dev.tandem.cuda.ffm;

import dev.tandem.cuda.CudaException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

/**
 * A C function of a {@link NativeLibrary}, looked up the first time it is called, so that a library missing a
 * function the program never calls still loads, and one that is called fails with the symbol's name and the file.
 * Thread-safe.
 */
public final class Downcall {
    private final NativeLibrary library;
    private final FunctionDescriptor descriptor;
    private final List<String> symbols;
    private volatile MethodHandle handle;
    private volatile String resolvedName;

    Downcall(NativeLibrary library, FunctionDescriptor descriptor, List<String> symbols) {
        if (symbols.isEmpty()) {
            throw new IllegalArgumentException("a downcall needs a symbol name");
        }
        this.library = library;
        this.descriptor = descriptor;
        this.symbols = List.copyOf(symbols);
    }

    /** The method handle; the first call resolves it. */
    public MethodHandle handle() {
        MethodHandle h = handle;
        if (h == null) {
            h = resolve();
        }
        return h;
    }

    /** The C name called: the first of the candidate names the library exports (the first candidate before). */
    public String name() {
        String n = resolvedName;
        return n != null ? n : symbols.getFirst();
    }

    /** Whether the library exports one of the candidate names. */
    public boolean available() {
        return symbols.stream().anyMatch(s -> library.find(s).isPresent());
    }

    private synchronized MethodHandle resolve() {
        if (handle != null) {
            return handle;
        }
        for (String s : symbols) {
            Optional<MemorySegment> addr = library.find(s);
            if (addr.isPresent()) {
                resolvedName = s;
                handle = NativeLibrary.linker().downcallHandle(addr.get(), descriptor);
                return handle;
            }
        }
        throw new CudaException(library.title() + " at " + library.file() + " has no function "
                + String.join(" or ", symbols) + "; it is probably older than Tandem needs (CUDA 12 or 13, cuDNN 9): "
                + "install a newer version or point -Dtandem.cuda.<lib> at one");
    }
}
