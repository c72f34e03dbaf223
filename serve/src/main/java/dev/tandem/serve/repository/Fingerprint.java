package dev.tandem.serve.repository;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What identifies one state of a model file: size, modification time and file key (inode). A file replaced or
 * still being written has another fingerprint, so a failed load is retried once the file changes.
 */
record Fingerprint(long size, long modifiedNanos, Object fileKey) {
    /** The fingerprint of a regular file, or null when it is missing or not a regular file. */
    static Fingerprint of(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                return null;
            }
            return new Fingerprint(a.size(), a.lastModifiedTime().toInstant().getEpochSecond() * 1_000_000_000L
                    + a.lastModifiedTime().toInstant().getNano(), a.fileKey());
        } catch (IOException e) {
            return null;
        }
    }
}
