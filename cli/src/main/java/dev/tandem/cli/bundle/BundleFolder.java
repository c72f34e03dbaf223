package dev.tandem.cli.bundle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The rules for a bundle's output folder: what may be written over (nothing but an earlier bundle, marked by
 * {@link Bundler#MARKER}, and only when asked), how a finished bundle takes its place, and its size.
 */
final class BundleFolder {
    private BundleFolder() {
    }

    /**
     * Refuses an {@code --out} that is a file, a folder holding anything but a bundle, or a bundle without
     * {@code force}.
     */
    static void check(Path out, boolean force) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BundleException("--out '" + out + "' is a file; give a folder (it is created)");
        }
        if (!Files.isDirectory(out) || isEmpty(out)) {
            return;
        }
        if (!Files.isRegularFile(out.resolve(Bundler.MARKER))) {
            throw new BundleException("--out '" + out + "' is not empty and holds no Tandem bundle (no "
                    + Bundler.MARKER + "); give a new or empty folder (--force only replaces an earlier bundle)");
        }
        if (!force) {
            throw new BundleException("--out '" + out + "' holds a bundle already; give --force to replace it, or "
                    + "another folder");
        }
    }

    static boolean isEmpty(Path dir) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        } catch (IOException e) {
            throw new BundleException("Cannot list --out '" + dir + "': " + reason(e));
        }
    }

    /** Moves the built folder to {@code out}, replacing what is there (nothing, an empty folder, or a bundle). */
    static void replace(Path out, Path staging) throws IOException {
        if (Files.exists(out)) {
            Path old = Files.createTempDirectory(out.getParent(), "." + out.getFileName() + ".old-");
            Files.delete(old);
            Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            try {
                Files.move(staging, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Files.move(old, out, StandardCopyOption.ATOMIC_MOVE);
                throw e;
            }
            deleteQuietly(old);
        } else {
            Files.move(staging, out, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Bytes of all regular files under {@code dir}. */
    static long size(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            long total = 0;
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                total += Files.size(p);
            }
            return total;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot measure '" + dir + "': " + e.getMessage(), e);
        }
    }

    /** Deletes a folder and what it holds, as far as it can. */
    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Best effort: a leftover hidden folder is harmless.
        }
    }

    /** A file system error in a few words. */
    static String reason(Exception e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }
}
