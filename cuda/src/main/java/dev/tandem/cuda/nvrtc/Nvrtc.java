package dev.tandem.cuda.nvrtc;

import static dev.tandem.cuda.ffm.Types.INT;
import static dev.tandem.cuda.ffm.Types.LONG;
import static dev.tandem.cuda.ffm.Types.PTR;

import dev.tandem.cuda.CudaException;
import dev.tandem.cuda.ffm.Calls;
import dev.tandem.cuda.ffm.Downcall;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.cuda.ffm.Types;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Bindings to NVRTC ({@code libnvrtc.so.13} or {@code .12}), the run-time CUDA C++ compiler. Every
 * {@code nvrtcResult} is checked: a failure is a {@link CudaException} with {@code nvrtcGetErrorString}'s text; a
 * compilation error carries the compiler's log ({@link #compile}).
 */
public final class Nvrtc {
    /** {@code NVRTC_ERROR_COMPILATION}. */
    public static final int ERROR_COMPILATION = 6;

    private final NativeLibrary lib;
    private final Downcall nvrtcGetErrorString;
    private final Downcall nvrtcVersion;
    private final Downcall nvrtcCreateProgram;
    private final Downcall nvrtcCompileProgram;
    private final Downcall nvrtcGetProgramLogSize;
    private final Downcall nvrtcGetProgramLog;
    private final Downcall nvrtcGetPTXSize;
    private final Downcall nvrtcGetPTX;
    private final Downcall nvrtcDestroyProgram;

    /** Bindings over a loaded {@code libnvrtc}; nothing is called yet. */
    public Nvrtc(NativeLibrary lib) {
        this.lib = lib;
        nvrtcGetErrorString = lib.downcall(FunctionDescriptor.of(PTR, INT), "nvrtcGetErrorString");
        nvrtcVersion = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "nvrtcVersion");
        // (nvrtcProgram*, src, name, numHeaders, headers, includeNames)
        nvrtcCreateProgram = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, INT, PTR, PTR),
                "nvrtcCreateProgram");
        nvrtcCompileProgram = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, PTR), "nvrtcCompileProgram");
        nvrtcGetProgramLogSize = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "nvrtcGetProgramLogSize");
        nvrtcGetProgramLog = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "nvrtcGetProgramLog");
        nvrtcGetPTXSize = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "nvrtcGetPTXSize");
        nvrtcGetPTX = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "nvrtcGetPTX");
        nvrtcDestroyProgram = lib.downcall(FunctionDescriptor.of(INT, PTR), "nvrtcDestroyProgram");
    }

    /** The library these bindings call. */
    public NativeLibrary library() {
        return lib;
    }

    /** {@code nvrtcGetErrorString}, e.g. {@code NVRTC_ERROR_COMPILATION}. */
    public String errorString(int code) {
        try {
            return Types.string((MemorySegment) nvrtcGetErrorString.handle().invokeExact(code));
        } catch (Throwable t) {
            return "";
        }
    }

    private void check(int rc, Downcall call) {
        if (rc != 0) {
            String s = errorString(rc);
            throw new CudaException("NVRTC", call.name(), rc, s, "");
        }
    }

    /** {@code nvrtcVersion}: {major, minor}. */
    public int[] version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(INT);
            MemorySegment minor = a.allocate(INT);
            int rc = (int) nvrtcVersion.handle().invokeExact(major, minor);
            check(rc, nvrtcVersion);
            return new int[] {major.get(INT, 0), minor.get(INT, 0)};
        } catch (Throwable t) {
            throw Calls.rethrow(nvrtcVersion.name(), t);
        }
    }

    /**
     * Compiles one self-contained CUDA C++ source (no headers) to PTX: create, compile with {@code options}
     * (e.g. {@code --gpu-architecture=compute_90}), read the PTX, destroy. A compilation error is a
     * {@link CudaException} whose message holds the compiler log.
     *
     * @return the PTX text, without the trailing NUL
     */
    public byte[] compile(String source, String name, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progOut = a.allocate(PTR);
            int rc = (int) nvrtcCreateProgram.handle().invokeExact(progOut, a.allocateFrom(source),
                    a.allocateFrom(name), 0, MemorySegment.NULL, MemorySegment.NULL);
            check(rc, nvrtcCreateProgram);
            MemorySegment prog = progOut.get(PTR, 0);
            try {
                MemorySegment opts = a.allocate(PTR, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(PTR, i, a.allocateFrom(options.get(i)));
                }
                rc = (int) nvrtcCompileProgram.handle().invokeExact(prog, options.size(), opts);
                if (rc != 0) {
                    String log = log(a, prog);
                    throw new CudaException("NVRTC could not compile " + name + " (" + errorString(rc) + ", options "
                            + options + "):\n" + log.strip());
                }
                MemorySegment size = a.allocate(LONG);
                rc = (int) nvrtcGetPTXSize.handle().invokeExact(prog, size);
                check(rc, nvrtcGetPTXSize);
                long n = size.get(LONG, 0);
                MemorySegment ptx = a.allocate(n);
                rc = (int) nvrtcGetPTX.handle().invokeExact(prog, ptx);
                check(rc, nvrtcGetPTX);
                byte[] bytes = ptx.toArray(ValueLayout.JAVA_BYTE);
                int len = bytes.length;
                while (len > 0 && bytes[len - 1] == 0) {
                    len--;
                }
                return java.util.Arrays.copyOf(bytes, len);
            } finally {
                rc = (int) nvrtcDestroyProgram.handle().invokeExact(progOut);
                check(rc, nvrtcDestroyProgram);
            }
        } catch (Throwable t) {
            throw Calls.rethrow(nvrtcCompileProgram.name(), t);
        }
    }

    private String log(Arena a, MemorySegment prog) throws Throwable {
        MemorySegment size = a.allocate(LONG);
        int rc = (int) nvrtcGetProgramLogSize.handle().invokeExact(prog, size);
        check(rc, nvrtcGetProgramLogSize);
        long n = size.get(LONG, 0);
        if (n <= 1) {
            return "(empty log)";
        }
        MemorySegment text = a.allocate(n);
        rc = (int) nvrtcGetProgramLog.handle().invokeExact(prog, text);
        check(rc, nvrtcGetProgramLog);
        return text.getString(0);
    }
}
