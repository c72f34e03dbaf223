package dev.tandem.cli.bundle;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Strips the symbol tables from a linked runtime's native libraries with binutils' {@code objcopy
 * --strip-unneeded}. Temurin ships {@code libjvm.so} with its symbol table (about 5 MB of FashionNet's 45 MB
 * bundle); the JVM never reads it, only native debuggers and the frame names of crash logs do. jlink's own
 * {@code --strip-native-debug-symbols} removes debug sections, which Temurin's libraries do not have.
 */
final class NativeSymbols {
    private NativeSymbols() {
    }

    /** {@code objcopy} on the {@code PATH}, if there is one. */
    static Optional<Path> objcopy() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, "objcopy");
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Strips every {@code .so} under {@code runtime}; returns the bytes saved.
     *
     * @throws BundleException when objcopy fails on a library (it is left as it was)
     */
    static long strip(Path objcopy, Path runtime) throws IOException {
        List<Path> libs;
        try (Stream<Path> s = Files.walk(runtime)) {
            libs = s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".so")).toList();
        }
        long saved = 0;
        for (Path lib : libs) {
            long before = Files.size(lib);
            Process p = new ProcessBuilder(objcopy.toString(), "--strip-unneeded", lib.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            try {
                if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new BundleException("objcopy --strip-unneeded failed on '" + lib + "': " + out.strip()
                            + "; give --keep-native-symbols to skip stripping");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BundleException("Interrupted while objcopy was running");
            }
            saved += before - Files.size(lib);
        }
        return saved;
    }
}
