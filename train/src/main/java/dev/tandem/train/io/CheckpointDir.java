package dev.tandem.train.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A run's checkpoint folder: {@value #LAST} (written every time), {@value #PREVIOUS} (the last one before it, when
 * kept) and {@value #BEST} (the one with the best metric so far). Every file is replaced atomically, so a crash
 * leaves each name either old-and-complete or new-and-complete; {@link #latest} picks the newest that verifies.
 *
 * <p>Not thread-safe: one trainer owns the folder.
 */
public final class CheckpointDir {
    public static final String LAST = "last.ckpt";
    public static final String PREVIOUS = "previous.ckpt";
    public static final String BEST = "best.ckpt";
    private static final List<String> NAMES = List.of(LAST, PREVIOUS, BEST);

    private final Path dir;
    private final boolean keepPrevious;

    /**
     * @param keepPrevious whether {@link #saveLast} first moves the current {@value #LAST} to {@value #PREVIOUS},
     *        a fallback if the newest file is later damaged (costs one more checkpoint of disk)
     */
    public CheckpointDir(Path dir, boolean keepPrevious) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.keepPrevious = keepPrevious;
    }

    public Path dir() {
        return dir;
    }

    /** A checkpoint that verified, and the newer ones that did not (newest first). */
    public record Found(Path file, Checkpoint.Contents contents, List<CheckpointException> rejected) {
    }

    /** Writes {@value #LAST} (after moving the old one to {@value #PREVIOUS} when kept); returns its path. */
    public Path saveLast(Map<String, ? extends TensorData> tensors, Map<String, ?> state) throws IOException {
        Path last = dir.resolve(LAST);
        if (keepPrevious && Files.exists(last)) {
            // Between this move and the write below, previous.ckpt alone is a complete checkpoint.
            move(last, dir.resolve(PREVIOUS));
        }
        Checkpoint.write(last, tensors, state);
        return last;
    }

    /** Writes {@value #BEST}; returns its path. */
    public Path saveBest(Map<String, ? extends TensorData> tensors, Map<String, ?> state) throws IOException {
        Path best = dir.resolve(BEST);
        Checkpoint.write(best, tensors, state);
        return best;
    }

    /**
     * Makes {@value #BEST} a copy of the current {@value #LAST} without serialising the tensors again (a hard link
     * where the file system has them, a copy otherwise), atomically.
     */
    public Path copyLastToBest() throws IOException {
        Path last = dir.resolve(LAST);
        Path best = dir.resolve(BEST);
        Path temp = dir.resolve("." + BEST + ".link.tmp");
        Files.deleteIfExists(temp);
        try {
            Files.createLink(temp, last);
            move(temp, best);
            AtomicFiles.syncFolder(dir);
        } catch (UnsupportedOperationException | IOException e) {
            Files.deleteIfExists(temp);
            if (e instanceof NoSuchFileException) {
                throw e;
            }
            AtomicFiles.write(best, out -> Files.copy(last, out));
        }
        return best;
    }

    /** {@link #latest(Path)} of this folder. */
    public Optional<Found> latest() throws IOException {
        return latest(dir);
    }

    /**
     * The newest checkpoint of {@code dir} that verifies, among {@value #LAST}, {@value #PREVIOUS} and
     * {@value #BEST} ordered by modification time (newest first; on equal times in that order of names).
     *
     * @return empty when the folder holds none of them (a fresh run)
     * @throws CheckpointException when there are checkpoints but none verifies (never silently start over); the
     *         message lists every file's problem
     */
    public static Optional<Found> latest(Path dir) throws IOException {
        record Candidate(Path file, FileTime time, int rank) {
        }
        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < NAMES.size(); i++) {
            Path file = dir.resolve(NAMES.get(i));
            if (Files.isRegularFile(file)) {
                candidates.add(new Candidate(file, Files.getLastModifiedTime(file), i));
            }
        }
        candidates.sort(Comparator.comparing(Candidate::time).reversed().thenComparingInt(Candidate::rank));
        List<CheckpointException> rejected = new ArrayList<>();
        for (Candidate c : candidates) {
            try {
                return Optional.of(new Found(c.file(), Checkpoint.read(c.file()), List.copyOf(rejected)));
            } catch (CheckpointException e) {
                rejected.add(e);
            }
        }
        if (rejected.isEmpty()) {
            return Optional.empty();
        }
        StringBuilder problems = new StringBuilder("none of its checkpoints verifies:");
        rejected.forEach(e -> problems.append("\n  ").append(e.getMessage()));
        CheckpointException e = new CheckpointException(dir, problems.toString());
        rejected.forEach(e::addSuppressed);
        throw e;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
