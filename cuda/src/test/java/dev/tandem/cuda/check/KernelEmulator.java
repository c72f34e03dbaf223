package dev.tandem.cuda.check;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tandem.cuda.NativeTools;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.cuda.ffm.Downcall;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.cuda.kernels.KernelSignature;
import dev.tandem.cuda.kernels.KernelSource;
import dev.tandem.cuda.kernels.KernelSources;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tandem's CUDA kernels compiled as C++ with g++ against {@code src/test/native/emulator.h} and run on the CPU, one
 * std::thread per CUDA thread: a {@link KernelRunner} whose "device memory" is host memory. It checks the kernels'
 * logic (indexing, reductions, synchronisation, arithmetic) without a GPU; it cannot check what only a GPU does
 * (memory model, timing, the real compiler's code generation).
 */
final class KernelEmulator implements KernelRunner {
    private final KernelSources sources;
    private final Map<String, Downcall> launchers = new HashMap<>();
    private final Arena arena = Arena.ofShared();
    private final int blockSize;

    private KernelEmulator(KernelSources sources, NativeLibrary lib, int blockSize) {
        this.sources = sources;
        this.blockSize = blockSize;
        FunctionDescriptor fd = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS);
        for (KernelSource s : sources.all()) {
            for (KernelSignature k : s.kernels()) {
                launchers.put(k.name(), lib.downcall(fd, "emu_" + k.name()));
            }
        }
    }

    /** Builds the emulator library in {@code dir} (skipping the test when g++ is missing) and loads it. */
    static KernelEmulator build(Path dir, int blockSize) throws IOException, InterruptedException {
        var gxx = NativeTools.tool("g++");
        assumeTrue(gxx.isPresent(), "skipped: no g++ on PATH to build the CPU emulator of the CUDA kernels");
        KernelSources sources = KernelSources.load();
        Files.createDirectories(dir);
        Path cpp = dir.resolve("kernels_emulated.cpp");
        Files.writeString(cpp, translationUnit(sources));
        Path so = dir.resolve("libtandem_kernels_emulated.so");
        NativeTools.Result r = NativeTools.run(List.of(gxx.get().toString(), "-std=c++20", "-O1", "-shared", "-fPIC",
                "-pthread", "-Wall", "-Wno-unused-function", "-I" + Path.of("src/test/native").toAbsolutePath(),
                "-o", so.toString(), cpp.toString()), 300);
        if (r.exit() != 0) {
            throw new AssertionError("g++ could not build the kernel emulator (" + cpp + "):\n" + r.output());
        }
        return new KernelEmulator(sources, NativeLibrary.load("kernel emulator", so), blockSize);
    }

    /** The emulator header, each source in its own namespace, and one launcher per kernel. */
    static String translationUnit(KernelSources sources) {
        StringBuilder b = new StringBuilder("#include \"emulator.h\"\n");
        int unit = 0;
        for (KernelSource s : sources.all()) {
            b.append("namespace unit").append(unit).append(" {\n").append(s.text()).append("\n}\n");
            for (KernelSignature k : s.kernels()) {
                b.append("extern \"C\" void emu_").append(k.name()).append("(unsigned gx, unsigned gy, unsigned gz, ")
                        .append("unsigned bx, unsigned by, unsigned bz, void** p) {\n")
                        .append("    emu::launch(dim3{gx, gy, gz}, dim3{bx, by, bz}, [&] { unit").append(unit)
                        .append("::").append(k.name()).append("(");
                for (int i = 0; i < k.declarations().size(); i++) {
                    b.append(i == 0 ? "" : ", ").append("*(").append(type(k.declarations().get(i))).append("*) p[")
                            .append(i).append("]");
                }
                b.append("); });\n}\n");
            }
            unit++;
        }
        return b.toString();
    }

    /** The C++ type of a parameter declaration: the declaration without its name and qualifiers. */
    static String type(String declaration) {
        String d = declaration.replace("__restrict__", "").strip();
        return d.substring(0, d.lastIndexOf(' ') < 0 ? 0 : d.lastIndexOf(' ') + 1).replaceAll("\\s*\\*\\s*$", "*")
                .strip() + (d.endsWith("*") ? "" : "");
    }

    private long copy(MemorySegment from) {
        MemorySegment to = arena.allocate(Math.max(1, from.byteSize()), 64);
        to.copyFrom(from);
        return to.address();
    }

    @Override
    public long upload(float[] values) {
        return copy(MemorySegment.ofArray(values));
    }

    @Override
    public long upload(int[] values) {
        return copy(MemorySegment.ofArray(values));
    }

    @Override
    public long upload(long[] values) {
        return copy(MemorySegment.ofArray(values));
    }

    @Override
    public long upload(short[] values) {
        return copy(MemorySegment.ofArray(values));
    }

    @Override
    public long zeros(long bytes) {
        return arena.allocate(Math.max(1, bytes), 64).address();
    }

    @Override
    public float[] floats(long address, int count) {
        return MemorySegment.ofAddress(address).reinterpret(4L * count).toArray(ValueLayout.JAVA_FLOAT);
    }

    @Override
    public int[] ints(long address, int count) {
        return MemorySegment.ofAddress(address).reinterpret(4L * count).toArray(ValueLayout.JAVA_INT);
    }

    @Override
    public short[] shorts(long address, int count) {
        return MemorySegment.ofAddress(address).reinterpret(2L * count).toArray(ValueLayout.JAVA_SHORT);
    }

    @Override
    public void launch(String kernel, Dim3 grid, Dim3 block, KernelArgs args) {
        sources.signature(kernel).check(args.kinds());
        try {
            launchers.get(kernel).handle().invokeExact(grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                    args.pointers());
        } catch (Throwable t) {
            throw new AssertionError("emulated launch of " + kernel + " failed", t);
        }
    }

    @Override
    public Arena arena() {
        return arena;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public void close() {
        arena.close();
    }
}
