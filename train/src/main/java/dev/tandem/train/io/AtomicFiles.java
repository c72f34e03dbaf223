package dev.tandem.train.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Writes files so that a reader, a crash or a kill at any moment sees either the complete old content or the
 * complete new content, never a mix or a truncated file.
 *
 * <p>{@link #write} writes into a temporary file in the target's folder (a hidden name, {@code .NAME.*.tmp}),
 * forces it to the device, renames it over the target ({@code ATOMIC_MOVE}, or {@code REPLACE_EXISTING} where the
 * file system cannot move atomically) and then forces the folder where the platform allows it. If anything fails,
 * the target is untouched and the temporary file is deleted. A process killed mid-write can leave a temporary file
 * behind, never a damaged target.
 *
 * <p>Stateless and thread-safe; concurrent writes of one target leave one of the complete contents.
 */
public final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {
    }

    /** The content of a file, written to a stream; the stream is buffered, and closing it is optional. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Replaces {@code target} with what {@code body} writes, atomically.
     *
     * @throws AtomicWriteException naming {@code target} when an I/O step fails (the body's own IOException
     *         included); the previous file is intact
     * @throws RuntimeException whatever the body throws unchecked, after the same clean-up
     */
    public static void write(Path target, Body body) throws IOException {
        Path file = target.toAbsolutePath();
        Path dir = file.getParent();
        Path temp = dir.resolve("." + file.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36)
                + ".tmp");
        FileChannel channel;
        try {
            // Not Files.createTempFile: its owner-only permissions would stay with the file after the rename.
            channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new AtomicWriteException(target, e);
        }
        boolean moved = false;
        try {
            try (channel) {
                OutputStream out = new BufferedOutputStream(new NonClosing(Channels.newOutputStream(channel)), 1 << 16);
                body.writeTo(out);
                out.flush();
                channel.force(true);
            }
            // Closed before the move: Windows cannot rename an open file.
            move(temp, file);
            moved = true;
            syncFolder(dir);
        } catch (IOException e) {
            throw e instanceof AtomicWriteException a ? a : new AtomicWriteException(target, e);
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // The write already failed; a stray hidden temporary file is the lesser problem.
                }
            }
        }
    }

    /** Replaces {@code target} with {@code bytes}, atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /** Replaces {@code target} with {@code text} in UTF-8, atomically. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    private static void move(Path temp, Path target) throws IOException {
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Makes the rename durable; platforms that cannot open a folder (Windows) skip it. */
    static void syncFolder(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Best effort: the file itself is already on the device.
        }
    }

    /** The body may close its stream; the channel must stay open for the flush and force that follow. */
    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
