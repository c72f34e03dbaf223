package dev.tandem.cuda.discovery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The folders the dynamic linker is configured with ({@code /etc/ld.so.conf} and {@code /etc/ld.so.conf.d/*.conf}),
 * where the CUDA toolkit and driver packages register their library folders. Read as text: no linker is asked.
 */
final class LdSoConf {
    private LdSoConf() {
    }

    /** The absolute folders listed, resolved under {@code root}, in file order (conf.d files sorted by name). */
    static List<Path> folders(Path root) {
        List<Path> out = new ArrayList<>();
        read(root, root.resolve("etc/ld.so.conf"), out);
        for (Path conf : confFiles(root.resolve("etc/ld.so.conf.d"))) {
            read(root, conf, out);
        }
        return out;
    }

    private static List<Path> confFiles(Path dir) {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (var ds = Files.newDirectoryStream(dir, "*.conf")) {
            ds.forEach(files::add);
        } catch (IOException | SecurityException e) {
            return files;
        }
        files.sort(null);
        return files;
    }

    private static void read(Path root, Path file, List<Path> out) {
        if (!Files.isRegularFile(file)) {
            return;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException | SecurityException | java.io.UncheckedIOException e) {
            return;
        }
        for (String raw : lines) {
            String line = raw.strip();
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash).strip();
            }
            // "include" lines name the conf.d files, which are read anyway.
            if (line.startsWith("/") && !line.contains(" ")) {
                out.add(root.resolve(line.substring(1)));
            }
        }
    }
}
