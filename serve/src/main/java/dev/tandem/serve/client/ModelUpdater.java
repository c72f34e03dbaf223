package dev.tandem.serve.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * Over-the-air model updates for a device: keeps a folder of signed model versions, serves the installed one to
 * the cascade ({@link TandemClient.Builder#localModel(ModelUpdater)}), and polls the server for a newer one.
 *
 * <pre>{@code
 * PublicKey key = ModelSignatures.readPublicKey(Path.of("signing-key.pub.pem"));   // pinned at build time
 * try (ModelUpdater local = ModelUpdater.builder(Path.of("/var/lib/app/models/fashion"), key).build();
 *      TandemClient client = TandemClient.builder(server, "fashion").token(token).localModel(local).build()) {
 *     local.startPolling(client, Duration.ofMinutes(15));
 *     Classification c = client.cascade(image);
 * }
 * }</pre>
 *
 * <p><b>An update</b> ({@link #check}): asks the server which version of the client's model serves
 * ({@code GET /v2/models/{m}}, {@code tandem.serving_version}); when it is newer than the installed one, downloads
 * its signature ({@code .../versions/{v}/model.onnx.sig}) and file ({@code .../versions/{v}/model.onnx}) into
 * {@code incoming/}, checks the SHA-256 the server announced ({@code X-Tandem-Sha256}) and the Ed25519 signature
 * of the digest against the pinned key, moves it to {@code versions/{v}/}, loads it as a {@link Classifier}, runs
 * the {@link SmokeTest}, and only then commits it as current (the {@code state} file, replaced atomically) and swaps
 * it in. The version it replaces stays on disk as the previous one ({@link #rollback()}); older ones are deleted.
 * A model that fails the signature, fails to load or fails the smoke test is rejected: it is deleted, remembered (in
 * {@code state}) so that it is not downloaded again, and the installed version stays.
 *
 * <p><b>Folder layout</b>, safe against a kill at any point:
 *
 * <pre>
 * DIR/state                      current=4, previous=3, rejected=5 (written to state.tmp, synced, renamed)
 * DIR/versions/4/model.onnx(.sig)  the current version
 * DIR/versions/3/model.onnx(.sig)  the previous one, kept for rollback
 * DIR/incoming/5-....part          a download in progress
 * DIR/.lock                      held while an updater has the folder open
 * </pre>
 *
 * Only {@code state} says what is installed, and it names only versions whose files were complete, verified and
 * synced before it was written. Opening the folder deletes what a killed process left behind (partial downloads,
 * version folders {@code state} does not name), verifies the current version's signature again and loads it; if it
 * no longer loads or verifies, the previous version is used and becomes current.
 *
 * <p><b>Threads.</b> Thread-safe. Updates are serialized; {@link #acquire()} never waits for one. A swapped-out
 * version stays open until the last {@link Lease} on it is closed.
 */
public final class ModelUpdater implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ModelUpdater.class.getName());
    private static final String STATE = "state";
    private static final String VERSIONS = "versions";
    private static final String INCOMING = "incoming";
    private static final String MODEL = "model.onnx";
    private static final String SIG = MODEL + ModelSignatures.SIG_SUFFIX;
    private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,17}");
    private static final int MAX_REJECTED = 32;

    /** What one update attempt did. */
    public enum Outcome {
        /** The installed version is the server's (or newer): nothing to do. */
        UP_TO_DATE,
        /** A newer version was verified, loaded, smoke-tested and swapped in. */
        INSTALLED,
        /** A newer version failed the signature, the load or the smoke test; the installed version stays. */
        REJECTED,
        /** The server or the download failed (no answer, refused, cut off, digest mismatch); tried again later. */
        FAILED
    }

    /**
     * The result of {@link #check} or {@link #install}.
     *
     * @param outcome   what happened
     * @param installed the version in use afterwards (null: none)
     * @param offered   the version the server offered (null when it could not be asked)
     * @param message   why, for {@link Outcome#REJECTED} and {@link Outcome#FAILED}; else a short note
     */
    public record Update(Outcome outcome, Long installed, Long offered, String message) {
    }

    private final Path dir;
    private final PublicKey key;
    private final SmokeTest smokeTest;
    private final Classifier.Options classifierOptions;
    private final long maxModelBytes;
    private final Duration stallTimeout;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Object updates = new Object();
    private final AtomicReference<Installed> current = new AtomicReference<>();
    private Long previous;
    private final TreeSet<Long> rejected = new TreeSet<>();
    private ScheduledExecutorService poller;
    private volatile boolean closed;

    private ModelUpdater(Builder b) throws IOException {
        this.dir = b.dir;
        this.key = b.key;
        this.smokeTest = b.smokeTest;
        this.classifierOptions = b.classifierOptions;
        this.maxModelBytes = b.maxModelBytes;
        this.stallTimeout = b.stallTimeout;
        Files.createDirectories(dir.resolve(VERSIONS));
        Files.createDirectories(dir.resolve(INCOMING));
        this.lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            l = null;
        } catch (IOException | RuntimeException e) {
            lockChannel.close();
            throw e;
        }
        if (l == null) {
            lockChannel.close();
            throw new IllegalStateException("The model folder '" + dir + "' is in use by another process (or "
                    + "another updater in this one)");
        }
        this.lock = l;
        try {
            recover();
        } catch (IOException | RuntimeException e) {
            releaseLock();
            throw e;
        }
    }

    /** A builder for an updater over the folder {@code dir}, trusting models signed by {@code publicKey}. */
    public static Builder builder(Path dir, PublicKey publicKey) {
        return new Builder(dir, publicKey);
    }

    // ---- the model in use

    /** A hold on the installed version: it stays open until the lease is closed, even if another is swapped in. */
    public static final class Lease implements AutoCloseable {
        private final Installed v;
        private final AtomicBoolean released = new AtomicBoolean();

        private Lease(Installed v) {
            this.v = v;
        }

        public Classifier classifier() {
            return v.classifier;
        }

        public long version() {
            return v.version;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                v.release();
            }
        }
    }

    /** One loaded version, reference-counted: the updater holds one reference while it is current. */
    private static final class Installed {
        final long version;
        final Classifier classifier;
        final AtomicInteger refs = new AtomicInteger(1);

        Installed(long version, Classifier classifier) {
            this.version = version;
            this.classifier = classifier;
        }

        boolean tryAcquire() {
            while (true) {
                int r = refs.get();
                if (r <= 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                classifier.close();
            }
        }
    }

    /** A lease on the installed version, or null when none is installed. Close it when done. */
    public Lease acquire() {
        for (int attempt = 0; attempt < 100; attempt++) {
            Installed v = current.get();
            if (v == null) {
                return null;
            }
            if (v.tryAcquire()) {
                return new Lease(v);
            }
            // Swapped out and closed between the read and the acquire: the next read sees its successor.
            Thread.onSpinWait();
        }
        throw new IllegalStateException("The local model is being swapped; retry");
    }

    /** The installed version, or null when none is. */
    public Long version() {
        Installed v = current.get();
        return v == null ? null : v.version;
    }

    /** The version kept for {@link #rollback()}, or null. */
    public Long previousVersion() {
        synchronized (updates) {
            return previous;
        }
    }

    /** Versions rejected (signature, load or smoke test) and not downloaded again, ascending. */
    public List<Long> rejectedVersions() {
        synchronized (updates) {
            return List.copyOf(rejected);
        }
    }

    /** The folder of this updater. */
    public Path dir() {
        return dir;
    }

    // ---- updates

    /**
     * Asks the client's server for a newer version of the client's model and installs it when there is one. Never
     * throws for what the server or the model does: the result says what happened.
     */
    public Update check(TandemClient client) {
        Objects.requireNonNull(client, "client");
        synchronized (updates) {
            requireOpen();
            Long installed = version();
            String m = enc(client.model());
            long offered;
            try {
                JsonNode meta = client.getJson("/v2/models/" + m);
                String v = meta.path("tandem").path("serving_version").asText("");
                if (!VERSION.matcher(v).matches()) {
                    return new Update(Outcome.FAILED, installed, null, "The server names no serving version of '"
                            + client.model() + "': " + meta);
                }
                offered = Long.parseLong(v);
            } catch (TandemClientException e) {
                return new Update(Outcome.FAILED, installed, null, e.getMessage());
            }
            if (installed != null && offered <= installed) {
                return new Update(Outcome.UP_TO_DATE, installed, offered, "version " + installed + " is installed");
            }
            if (rejected.contains(offered)) {
                return new Update(Outcome.UP_TO_DATE, installed, offered, "version " + offered
                        + " was rejected before; keeping " + installed);
            }
            String base = "/v1/models/" + m + "/versions/" + offered + "/";
            byte[] signature;
            try {
                signature = client.getBytes(base + SIG);
            } catch (TandemClientException e) {
                if (e.status() == 404) {
                    return reject(offered, "the server has no signature for it: " + e.getMessage());
                }
                return new Update(Outcome.FAILED, installed, offered, e.getMessage());
            }
            Path part = dir.resolve(INCOMING).resolve(offered + "-" + System.nanoTime() + ".part");
            try {
                String announced;
                byte[] digest;
                try {
                    HttpResponse<InputStream> res = client.openStream(base + MODEL);
                    announced = res.headers().firstValue("X-Tandem-Sha256").orElse(null);
                    digest = receive(res, part);
                } catch (TandemClientException e) {
                    return new Update(Outcome.FAILED, installed, offered, e.getMessage());
                } catch (IOException e) {
                    return new Update(Outcome.FAILED, installed, offered, "The download of version " + offered
                            + " broke off: " + e.getMessage());
                }
                if (announced != null && !announced.strip().equalsIgnoreCase(ModelSignatures.hex(digest))) {
                    // A transfer problem, not the model's fault: not remembered, tried again at the next poll.
                    return new Update(Outcome.FAILED, installed, offered, "The download's SHA-256 "
                            + ModelSignatures.hex(digest) + " differs from the server's " + announced);
                }
                try {
                    return installVerified(offered, part, digest, new String(signature, StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    return new Update(Outcome.FAILED, version(), offered, "Cannot write to the model folder '" + dir
                            + "': " + e);
                }
            } finally {
                deleteQuietly(part);
            }
        }
    }

    /**
     * Installs a model file and its {@code .sig} as {@code version} (the first model of a device, or one delivered
     * by other means), exactly as a download is: verified, loaded, smoke-tested, then swapped in. The files are
     * copied; the originals stay.
     */
    public Update install(long version, Path model, Path signature) throws IOException {
        if (version < 1) {
            throw new IllegalArgumentException("version must be >= 1; got " + version);
        }
        synchronized (updates) {
            requireOpen();
            Long installed = version();
            if (installed != null && version <= installed) {
                return new Update(Outcome.UP_TO_DATE, installed, version, "version " + installed + " is installed");
            }
            String sig;
            try {
                sig = Files.readString(signature, StandardCharsets.US_ASCII);
            } catch (NoSuchFileException e) {
                return reject(version, "no signature file '" + signature + "'");
            }
            Path part = dir.resolve(INCOMING).resolve(version + "-" + System.nanoTime() + ".part");
            try {
                Files.copy(model, part);
                force(part);
                return installVerified(version, part, ModelSignatures.sha256(part), sig);
            } finally {
                deleteQuietly(part);
            }
        }
    }

    /**
     * Goes back to the previous version: it becomes current, and the current one is rejected (deleted, not
     * downloaded again).
     *
     * @return false when there is no previous version, or it no longer loads (then nothing changes)
     */
    public boolean rollback() {
        synchronized (updates) {
            requireOpen();
            Installed now = current.get();
            if (previous == null || now == null) {
                return false;
            }
            Installed back;
            try {
                back = open(previous);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "Cannot roll back to version {0} of {1}: {2}", previous, dir,
                        e.getMessage());
                return false;
            }
            rejected.add(now.version);
            try {
                writeState(back.version, null);
            } catch (IOException e) {
                rejected.remove(now.version);
                back.release();
                throw new UncheckedIOException(e);
            }
            previous = null;
            swap(back);
            LOG.log(System.Logger.Level.WARNING, "Rolled back {0} from version {1} to {2}", dir, now.version,
                    back.version);
            deleteUnused();
            return true;
        }
    }

    /**
     * Checks for an update now and then every {@code interval} on a daemon thread, until {@link #close()}.
     *
     * @throws IllegalStateException when already polling
     */
    public void startPolling(TandemClient client, Duration interval) {
        Objects.requireNonNull(client, "client");
        if (interval == null || interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be > 0; got " + interval);
        }
        synchronized (updates) {
            requireOpen();
            if (poller != null) {
                throw new IllegalStateException("Already polling");
            }
            poller = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                    .name("tandem-model-updater").unstarted(r));
            poller.scheduleWithFixedDelay(() -> {
                try {
                    Update u = check(client);
                    System.Logger.Level level = switch (u.outcome()) {
                        case UP_TO_DATE -> System.Logger.Level.DEBUG;
                        case INSTALLED -> System.Logger.Level.INFO;
                        case REJECTED, FAILED -> System.Logger.Level.WARNING;
                    };
                    LOG.log(level, "Model update of {0}: {1}", dir, u);
                } catch (RuntimeException e) {
                    if (!closed) {
                        LOG.log(System.Logger.Level.ERROR, "Model update of " + dir + " failed", e);
                    }
                }
            }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Stops polling, releases the installed version (closed once its leases are closed) and the folder. */
    @Override
    public void close() {
        ScheduledExecutorService p;
        synchronized (updates) {
            if (closed) {
                return;
            }
            closed = true;
            p = poller;
        }
        if (p != null) {
            p.shutdownNow();
        }
        synchronized (updates) {
            Installed v = current.getAndSet(null);
            if (v != null) {
                v.release();
            }
            releaseLock();
        }
    }

    // ---- the steps

    /** Streams a download into {@code part}, hashing it, within the size limit and the stall timeout. */
    private byte[] receive(HttpResponse<InputStream> res, Path part) throws IOException {
        long declared = res.headers().firstValueAsLong("Content-Length").orElse(-1);
        if (declared > maxModelBytes) {
            res.body().close();
            throw new IOException("the model has " + declared + " bytes; the limit is " + maxModelBytes);
        }
        MessageDigest md = ModelSignatures.sha256();
        AtomicLong lastProgress = new AtomicLong(System.nanoTime());
        AtomicBoolean done = new AtomicBoolean();
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream in = res.body();
        // A stalled server must not hold the update forever: closing the stream ends a blocked read.
        Thread watchdog = Thread.ofVirtual().start(() -> {
            long limit = stallTimeout.toNanos();
            while (!done.get()) {
                if (System.nanoTime() - lastProgress.get() > limit) {
                    stalled.set(true);
                    try {
                        in.close();
                    } catch (IOException e) {
                        // Closing is all that matters.
                    }
                    return;
                }
                try {
                    Thread.sleep(Math.max(10, stallTimeout.toMillis() / 10));
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long total = 0;
        try (in; FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                total += n;
                if (total > maxModelBytes) {
                    throw new IOException("the model exceeds the limit of " + maxModelBytes + " bytes");
                }
                md.update(buf, 0, n);
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
                lastProgress.set(System.nanoTime());
            }
            if (declared >= 0 && total != declared) {
                throw new IOException("got " + total + " of " + declared + " bytes");
            }
            out.force(true);
        } catch (IOException e) {
            if (stalled.get()) {
                throw new IOException("no data for " + stallTimeout.toMillis() + " ms after " + total + " bytes", e);
            }
            throw e;
        } finally {
            done.set(true);
            watchdog.interrupt();
        }
        return md.digest();
    }

    /**
     * Verifies the signature, moves the file into {@code versions/{v}/}, loads and smoke-tests it, commits the state
     * and swaps it in; rejects (and deletes) it otherwise. Called under the update lock.
     */
    private Update installVerified(long version, Path part, byte[] digest, String signatureText) throws IOException {
        byte[] sig;
        try {
            sig = ModelSignatures.decode(signatureText);
        } catch (IllegalArgumentException e) {
            return reject(version, "malformed signature: " + e.getMessage());
        }
        if (!ModelSignatures.verify(key, digest, sig)) {
            return reject(version, "the signature does not verify with the pinned public key (sha256 "
                    + ModelSignatures.hex(digest) + ")");
        }
        Path vdir = dir.resolve(VERSIONS).resolve(Long.toString(version));
        deleteTree(vdir);
        Files.createDirectories(vdir);
        Path sigTmp = vdir.resolve(SIG + ".tmp");
        Files.writeString(sigTmp, ModelSignatures.encode(sig), StandardCharsets.US_ASCII);
        force(sigTmp);
        Files.move(sigTmp, vdir.resolve(SIG), StandardCopyOption.ATOMIC_MOVE);
        Files.move(part, vdir.resolve(MODEL), StandardCopyOption.ATOMIC_MOVE);
        forceDir(vdir);
        forceDir(vdir.getParent());
        // Until the state names it, versions/{v} is garbage to the next open: a kill from here on is harmless.
        Installed candidate;
        try {
            candidate = load(version, vdir);
        } catch (RuntimeException e) {
            deleteTree(vdir);
            return reject(version, e.getMessage());
        }
        Installed old = current.get();
        Long oldPrevious = previous;
        Long newPrevious = old != null ? old.version : null;
        try {
            writeState(version, newPrevious);
        } catch (IOException | RuntimeException e) {
            candidate.release();
            deleteTree(vdir);
            throw e;
        }
        previous = newPrevious;
        rejected.remove(version);
        swap(candidate);
        LOG.log(System.Logger.Level.INFO, "Installed version {0} in {1} (previous: {2})", version, dir,
                newPrevious);
        deleteUnused();
        return new Update(Outcome.INSTALLED, version, version, "replaced " + (old == null ? "nothing"
                : "version " + old.version) + (oldPrevious != null && !oldPrevious.equals(newPrevious)
                ? "; version " + oldPrevious + " deleted" : ""));
    }

    /** Loads and smoke-tests a version folder. */
    private Installed load(long version, Path vdir) {
        Classifier c;
        try {
            c = Classifier.load(vdir.resolve(MODEL), classifierOptions);
        } catch (RuntimeException e) {
            throw new IllegalStateException("version " + version + " does not load: " + e.getMessage(), e);
        }
        try {
            smokeTest.check(c);
        } catch (Exception e) {
            c.close();
            throw new IllegalStateException("version " + version + " fails the smoke test: " + e.getMessage(), e);
        }
        return new Installed(version, c);
    }

    /** Verifies (signature again: the disk may have changed), loads and smoke-tests an installed version. */
    private Installed open(long version) {
        Path vdir = dir.resolve(VERSIONS).resolve(Long.toString(version));
        try {
            ModelSignatures.verifyFile(key, vdir.resolve(MODEL), vdir.resolve(SIG));
        } catch (SecurityException | UncheckedIOException e) {
            throw new IllegalStateException("version " + version + " does not verify: " + e.getMessage(), e);
        }
        return load(version, vdir);
    }

    private Update reject(long version, String why) {
        rejected.add(version);
        while (rejected.size() > MAX_REJECTED) {
            rejected.pollFirst();
        }
        Installed now = current.get();
        try {
            if (now != null) {
                writeState(now.version, previous);
            } else {
                writeState(null, null);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "Cannot record the rejection in " + dir, e);
        }
        String message = "Rejected version " + version + ": " + why + (now != null ? "; keeping version "
                + now.version : "");
        LOG.log(System.Logger.Level.WARNING, message);
        return new Update(Outcome.REJECTED, now == null ? null : now.version, version, message);
    }

    private void swap(Installed next) {
        Installed old = current.getAndSet(next);
        if (old != null) {
            old.release();
        }
    }

    /** Opening: clears what a killed process left, then loads current (or previous when current fails). */
    private void recover() throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve(INCOMING))) {
            for (Path p : ds) {
                deleteTree(p);
            }
        }
        Files.deleteIfExists(dir.resolve(STATE + ".tmp"));
        Map<String, String> state = readState();
        Long cur = number(state.get("current"));
        Long prev = number(state.get("previous"));
        for (String r : state.getOrDefault("rejected", "").split(",")) {
            Long v = number(r.strip());
            if (v != null) {
                rejected.add(v);
            }
        }
        Installed loaded = null;
        if (cur != null) {
            try {
                loaded = open(cur);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "The current model in {0} is unusable ({1}); trying the "
                        + "previous one", dir, e.getMessage());
                rejected.add(cur);
            }
        }
        if (loaded == null && prev != null) {
            try {
                loaded = open(prev);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "The previous model in {0} is unusable too ({1})", dir,
                        e.getMessage());
            }
            prev = null;
        }
        if (loaded == null && cur != null) {
            writeState(null, null);
        } else if (loaded != null && !Objects.equals(cur, loaded.version)) {
            writeState(loaded.version, null);
        }
        current.set(loaded);
        previous = loaded == null ? null : prev;
        deleteUnused();
        LOG.log(System.Logger.Level.DEBUG, "Opened {0}: version {1} (previous {2})", dir, version(), previous);
    }

    /** Deletes version folders that are neither current nor previous (interrupted or superseded installs). */
    private void deleteUnused() {
        Installed now = current.get();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve(VERSIONS))) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                Long v = VERSION.matcher(name).matches() ? Long.parseLong(name) : null;
                boolean keep = v != null && (now != null && v == now.version || v.equals(previous));
                if (!keep) {
                    deleteTree(p);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "Cannot clean " + dir.resolve(VERSIONS), e);
        }
    }

    private Map<String, String> readState() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(STATE))) {
            p.load(in);
        } catch (NoSuchFileException e) {
            return Map.of();
        }
        Map<String, String> m = new LinkedHashMap<>();
        p.forEach((k, v) -> m.put(k.toString(), v.toString()));
        return m;
    }

    /** Replaces the state file atomically: write a temporary file, sync it, rename it, sync the folder. */
    private void writeState(Long cur, Long prev) throws IOException {
        StringBuilder s = new StringBuilder("# Tandem model updater state; replaced atomically, do not edit.\n");
        if (cur != null) {
            s.append("current=").append(cur).append('\n');
        }
        if (prev != null) {
            s.append("previous=").append(prev).append('\n');
        }
        if (!rejected.isEmpty()) {
            List<String> r = new ArrayList<>();
            rejected.forEach(v -> r.add(Long.toString(v)));
            s.append("rejected=").append(String.join(",", r)).append('\n');
        }
        Path tmp = dir.resolve(STATE + ".tmp");
        Files.writeString(tmp, s, StandardCharsets.US_ASCII);
        force(tmp);
        Files.move(tmp, dir.resolve(STATE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        forceDir(dir);
    }

    private static Long number(String s) {
        return s != null && VERSION.matcher(s).matches() ? Long.parseLong(s) : null;
    }

    private static void force(Path file) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
            c.force(true);
        }
    }

    /** Syncs a folder's entries (renames) where the platform allows opening a folder; elsewhere a no-op. */
    private static void forceDir(Path d) {
        try (FileChannel c = FileChannel.open(d, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Windows cannot open a folder as a channel; its renames are durable by other means.
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "Cannot delete " + p, e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private void releaseLock() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "Cannot release the lock of " + dir, e);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("The model updater of '" + dir + "' is closed");
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * Updater options. Defaults: the {@link SmokeTest#zeros()} smoke test, classifiers with all processors and every
     * class ranked, models up to 1 GiB, a download aborted after 30 s without data.
     */
    public static final class Builder {
        private final Path dir;
        private final PublicKey key;
        private SmokeTest smokeTest = SmokeTest.zeros();
        private Classifier.Options classifierOptions = Classifier.Options.defaults().withTopK(Integer.MAX_VALUE);
        private long maxModelBytes = 1L << 30;
        private Duration stallTimeout = Duration.ofSeconds(30);

        private Builder(Path dir, PublicKey key) {
            this.dir = Objects.requireNonNull(dir, "dir");
            this.key = Objects.requireNonNull(key, "publicKey");
            if (!key.getAlgorithm().toLowerCase(Locale.ROOT).matches("ed25519|eddsa")) {
                throw new IllegalArgumentException("The pinned key must be an Ed25519 public key; got "
                        + key.getAlgorithm());
            }
        }

        /** The check a new version must pass before it is swapped in (default {@link SmokeTest#zeros()}). */
        public Builder smokeTest(SmokeTest t) {
            this.smokeTest = Objects.requireNonNull(t, "smokeTest");
            return this;
        }

        /** How installed models are loaded (threads; labels; top-k is widened by the cascade's own). */
        public Builder classifierOptions(Classifier.Options o) {
            this.classifierOptions = Objects.requireNonNull(o, "options");
            return this;
        }

        /** The largest model accepted for download. */
        public Builder maxModelBytes(long n) {
            if (n < 1) {
                throw new IllegalArgumentException("max model bytes must be >= 1; got " + n);
            }
            this.maxModelBytes = n;
            return this;
        }

        /** How long a download may go without data before it is abandoned (and retried at the next poll). */
        public Builder stallTimeout(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("stall timeout must be > 0; got " + d);
            }
            this.stallTimeout = d;
            return this;
        }

        /**
         * Opens the folder (creating it): clears what an interrupted update left, loads the current version.
         *
         * @throws IllegalStateException when another process has the folder open
         * @throws IOException           when the folder cannot be created or read
         */
        public ModelUpdater build() throws IOException {
            return new ModelUpdater(this);
        }
    }
}
