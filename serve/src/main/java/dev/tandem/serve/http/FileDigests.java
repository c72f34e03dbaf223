package dev.tandem.serve.http;

import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SHA-256 digests of model files, computed once per state of a file (size, modification time, inode): a download
 * or a metadata request does not read a large model twice, and a replaced file is hashed again.
 */
final class FileDigests {
    private record Entry(long size, long modified, Object fileKey, String sha256) {
    }

    private final Map<Path, Entry> cache = new ConcurrentHashMap<>();

    /** The file's SHA-256 in lower-case hex. */
    String sha256(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        long modified = a.lastModifiedTime().toMillis();
        Entry e = cache.get(file);
        if (e != null && e.size() == a.size() && e.modified() == modified && java.util.Objects.equals(e.fileKey(),
                a.fileKey())) {
            return e.sha256();
        }
        String hex = ModelSignatures.hex(ModelSignatures.sha256(file));
        if (cache.size() > 1024) {
            cache.clear();
        }
        cache.put(file, new Entry(a.size(), modified, a.fileKey(), hex));
        return hex;
    }
}
