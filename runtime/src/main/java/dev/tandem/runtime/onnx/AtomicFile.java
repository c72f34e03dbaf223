package dev.tandem.runtime.onnx;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file atomically: the content goes to a hidden temporary file in the target's folder, is forced to
 * disk, and is renamed over the target. Readers see the old file or the whole new one, never a part; after a
 * failure (or a crash) the old file is intact and no temporary file is left behind (except after a crash).
 * A link at the target is replaced by the new file, not followed.
 */
final class AtomicFile {
    /** Writes the content; may throw at any point. */
    @FunctionalInterface
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFile() {
    }

    /**
     * Writes {@code target} from {@code content}.
     *
     * @throws IOException when the folder is missing or not writable, the disk is full, {@code target} is a folder,
     *                     or {@code content} throws; {@code target} is then as it was
     */
    static void write(Path target, Content content) throws IOException {
        Path file = target.toAbsolutePath();
        Path dir = file.getParent();
        if (Files.isDirectory(file)) {
            throw new FileSystemException(target.toString(), null, "is a folder, not a file");
        }
        // Hidden, and random so concurrent writers of one target do not collide; the same folder (same file
        // system) so that the rename is atomic.
        Path tmp = dir.resolve("." + file.getFileName() + "."
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean renamed = false;
        try {
            // CREATE_NEW applies the umask, as a plain file creation would (createTempFile would make it 0600).
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
                content.writeTo(out);
                out.flush();
                ch.force(true);
            }
            keepPermissions(file, tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            renamed = true;
        } finally {
            if (!renamed) {
                deleteQuietly(tmp);
            }
        }
        syncFolder(dir);
    }

    /** A replaced file keeps its permissions (a model someone made read-only to others stays so). */
    private static void keepPermissions(Path file, Path tmp) {
        try {
            PosixFileAttributeView old = Files.getFileAttributeView(file, PosixFileAttributeView.class);
            PosixFileAttributeView now = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
            if (old != null && now != null && Files.exists(file)) {
                now.setPermissions(old.readAttributes().permissions());
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Best effort: the new file then has the default permissions.
        }
    }

    /** Makes the rename itself durable; best effort, as not every platform can open a folder. */
    private static void syncFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // The file itself is on disk; only the rename may be lost in a crash.
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            // Nothing more can be done; the caller's exception says what failed.
        }
    }
}
