package dev.tandem.cuda.kernels;

import dev.tandem.runtime.backend.BackendEnvironment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * PTX compiled from Tandem's kernels, kept on disk so that NVRTC runs once per (source, GPU architecture, compiler
 * version): the file name holds all three ({@code elementwise-compute_90-nvrtc-13.0-<sha256 prefix>.ptx}), so a
 * changed kernel, another GPU or another NVRTC never reads a stale entry.
 *
 * <p>Writes are atomic (a temporary file in the same folder, then a rename), so concurrent processes and crashes
 * leave either no entry or a whole one. An entry that is not PTX (empty, truncated, foreign) is ignored and
 * replaced. A cache folder that cannot be written only costs the compile time: {@link #put} reports and
 * continues.
 *
 * <p>Folder: {@code -Dtandem.cuda.ptxCache} or {@code TANDEM_PTX_CACHE}, else {@code $XDG_CACHE_HOME/tandem/ptx},
 * else {@code ~/.cache/tandem/ptx}.
 */
public final class PtxCache {
    private final Path dir;

    /** A cache in {@code dir} (created on first write). */
    public PtxCache(Path dir) {
        this.dir = dir;
    }

    /** The folder the settings name (see the class comment). */
    public static PtxCache fromEnvironment(BackendEnvironment env) {
        Optional<String> explicit = env.property("tandem.cuda.ptxCache").or(() -> env.env("TANDEM_PTX_CACHE"));
        if (explicit.isPresent()) {
            return new PtxCache(Path.of(explicit.get()));
        }
        Optional<String> xdg = env.env("XDG_CACHE_HOME");
        if (xdg.isPresent()) {
            return new PtxCache(Path.of(xdg.get(), "tandem", "ptx"));
        }
        String home = env.property("user.home").or(() -> env.env("HOME")).orElse(".");
        return new PtxCache(Path.of(home, ".cache", "tandem", "ptx"));
    }

    /** The folder. */
    public Path folder() {
        return dir;
    }

    /** The file an entry lives in. */
    public Path file(KernelSource source, String arch, String compilerVersion) {
        String base = source.name().replaceAll("\\.cu$", "");
        String safe = (base + "-" + arch + "-" + compilerVersion).replaceAll("[^A-Za-z0-9._-]", "_");
        return dir.resolve(safe + "-" + source.sha256().substring(0, 16) + ".ptx");
    }

    /** The cached PTX, when a valid entry exists. */
    public Optional<byte[]> get(KernelSource source, String arch, String compilerVersion) {
        Path f = file(source, arch, compilerVersion);
        try {
            byte[] b = Files.readAllBytes(f);
            return looksLikePtx(b, source) ? Optional.of(b) : Optional.empty();
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /**
     * Stores PTX atomically. Returns false (and leaves the cache as it was) when the folder cannot be written.
     */
    public boolean put(KernelSource source, String arch, String compilerVersion, byte[] ptx) {
        Path f = file(source, arch, compilerVersion);
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + f.getFileName(), ".tmp");
            Files.write(tmp, ptx);
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
            return true;
        } catch (IOException | SecurityException e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException | SecurityException ignored) {
                    // Best effort: a stray temporary file is harmless.
                }
            }
            return false;
        }
    }

    /** PTX text that declares every kernel of the source: a truncated or foreign file fails this. */
    static boolean looksLikePtx(byte[] b, KernelSource source) {
        String text = new String(b, StandardCharsets.US_ASCII);
        if (!text.contains(".version") || !text.contains(".target")) {
            return false;
        }
        for (KernelSignature k : source.kernels()) {
            if (!text.contains(".entry " + k.name() + "(")) {
                return false;
            }
        }
        return true;
    }
}
