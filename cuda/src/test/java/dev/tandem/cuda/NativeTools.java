package dev.tandem.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The native tools some tests use when the machine has them (gcc, the CUDA headers, nvcc, ptxas); a test that
 * needs a missing one is skipped with a message saying what is missing.
 */
public final class NativeTools {
    private NativeTools() {
    }

    /** The CUDA include folder holding {@code cuda.h}, if any. */
    public static Optional<Path> cudaInclude() {
        List<Path> candidates = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = System.getenv(var);
            if (v != null && !v.isBlank()) {
                candidates.add(Path.of(v, "include"));
            }
        }
        candidates.add(Path.of("/usr/local/cuda/include"));
        candidates.add(Path.of("/usr/local/cuda-13.0/include"));
        candidates.add(Path.of("/usr/include"));
        return candidates.stream().filter(p -> Files.isRegularFile(p.resolve("cuda.h"))).findFirst();
    }

    /** An executable on PATH or in the CUDA toolkit's bin folder. */
    public static Optional<Path> tool(String name) {
        List<Path> dirs = new ArrayList<>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = System.getenv(var);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v, "bin"));
            }
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(":")) {
                if (!d.isBlank()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        dirs.add(Path.of("/usr/local/cuda/bin"));
        return dirs.stream().map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
    }

    /** Skips the test unless gcc and cuda.h are present; returns the include folder. */
    public static Path requireGccAndCudaHeader() {
        assumeTrue(tool("gcc").isPresent(), "skipped: no gcc on PATH to build the fake CUDA driver");
        Optional<Path> inc = cudaInclude();
        assumeTrue(inc.isPresent(), "skipped: no cuda.h (CUDA toolkit headers) to check the fake driver against; "
                + "set CUDA_HOME");
        return inc.get();
    }

    /** Builds the fake driver from {@code src/test/native/fake_cuda.c} as {@code dir/libcuda.so.1}. */
    public static Path buildFakeDriver(Path dir) throws IOException, InterruptedException {
        Path include = requireGccAndCudaHeader();
        Files.createDirectories(dir);
        Path out = dir.resolve("libcuda.so.1");
        Result r = run(List.of(tool("gcc").orElseThrow().toString(), "-shared", "-fPIC", "-O1", "-Wall", "-Wextra",
                "-Werror", "-I" + include, "-o", out.toString(), Path.of("src/test/native/fake_cuda.c")
                        .toAbsolutePath().toString()), 120);
        if (r.exit() != 0) {
            throw new AssertionError("gcc could not build the fake driver against " + include + ":\n" + r.output());
        }
        return out;
    }

    /** What a process printed (stdout and stderr together) and its exit code. */
    public record Result(int exit, String output) {
    }

    /** Runs a command, failing the test when it takes longer than {@code seconds}. */
    public static Result run(List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out;
        try (var in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command.getFirst() + " took longer than " + seconds + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
