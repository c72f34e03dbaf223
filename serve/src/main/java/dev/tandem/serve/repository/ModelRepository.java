package dev.tandem.serve.repository;

import dev.tandem.runtime.MemoryBudgetExceededException;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.serve.ServeException;
import dev.tandem.serve.batch.BatchPolicy;
import dev.tandem.serve.batch.MicroBatcher;
import dev.tandem.serve.batch.ModelRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A folder of models, {@code ROOT/{model}/{version}/model.onnx}, loaded and kept serving.
 *
 * <p><b>Which version serves.</b> Versions are folders named by a positive integer. The newest version whose file
 * loads serves, unless a version is {@link #pin pinned}. Only the serving version is kept in memory.
 *
 * <p><b>Changes</b> are picked up by {@link #reload()} (called by the management endpoint, or every interval by
 * {@link #watch}): a new version is loaded, warmed up with one run on zeros, and only then swapped in; the version
 * it replaces is retired and closes when its last request is done ({@link LoadedVersion}). A file that fails to
 * load is logged and reported, the version serving before keeps serving, and the file is not tried again until it
 * changes (size, time or inode) — so a model still being copied in is retried once complete. A removed model
 * folder unloads the model.
 *
 * <p>Thread-safe: reloads are serialized; requests never wait for a reload ({@link #acquire} reads the serving
 * version without locking).
 */
public final class ModelRepository implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ModelRepository.class.getName());
    /** The model file inside each version folder. */
    public static final String MODEL_FILE = "model.onnx";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,17}");

    /** Told what the repository does, for metrics. */
    public interface Listener {
        /** A batch of {@code rows} ran on a model version. */
        default void batchRan(String model, long version, int rows) {
        }

        /** A model version failed to load. */
        default void loadFailed(String model, long version, String message) {
        }
    }

    private final Path root;
    private final Model.Options modelOptions;
    private final BatchPolicy policy;
    private final Listener listener;
    private final Map<String, Entry> models = new ConcurrentHashMap<>();
    /** Versions loaded and not yet closed: serving, or retired and finishing requests. */
    private final java.util.Set<LoadedVersion> open = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService watcher;
    private volatile boolean closed;

    /** One model's state; {@code serving} is read without the lock, the rest is touched only by reloads. */
    private static final class Entry {
        final String name;
        volatile LoadedVersion serving;
        volatile Long pinned;
        volatile Map<Long, Fingerprint> onDisk = Map.of();
        final Map<Long, Failure> failed = new ConcurrentHashMap<>();

        Entry(String name) {
            this.name = name;
        }
    }

    private record Failure(Fingerprint fingerprint, String message) {
    }

    /**
     * @param root         the repository folder
     * @param modelOptions how models are loaded (threads or a shared pool)
     * @param policy       how each version batches its requests
     * @param listener     told of batches and failures
     * @throws IllegalArgumentException when {@code root} is not a folder
     */
    public ModelRepository(Path root, Model.Options modelOptions, BatchPolicy policy, Listener listener) {
        if (!Files.isDirectory(root)) {
            throw new IllegalArgumentException("Model repository '" + root + "' is not a folder; expected "
                    + "DIR/{model}/{version}/" + MODEL_FILE);
        }
        this.root = root;
        this.modelOptions = modelOptions;
        this.policy = policy;
        this.listener = listener == null ? new Listener() { } : listener;
    }

    public Path root() {
        return root;
    }

    // ---- requests

    /**
     * A lease on the version of {@code model} that serves now; with {@code version} non-null, only when that is the
     * version serving. Close the lease when the request is done.
     *
     * @throws ServeException 404 for an unknown model or a version that is not loaded, 503 when the model has no
     *                        loaded version
     */
    public LoadedVersion.Lease acquire(String model, Long version) {
        Entry e = models.get(model);
        if (e == null) {
            throw new ServeException(404, "Unknown model '" + model + "'; models: " + new TreeMap<>(models).keySet());
        }
        for (int attempt = 0; attempt < 100; attempt++) {
            LoadedVersion v = e.serving;
            if (v == null) {
                throw new ServeException(503, "Model '" + model + "' has no loaded version"
                        + (e.failed.isEmpty() ? "" : "; failed: " + failures(e)));
            }
            if (version != null && v.version() != version) {
                throw new ServeException(404, "Version " + version + " of model '" + model + "' is not loaded; "
                        + "version " + v.version() + " serves" + (e.pinned != null ? " (pinned)" : ""));
            }
            LoadedVersion.Lease lease = v.lease();
            if (lease != null) {
                return lease;
            }
            // Retired between the read and the lease: the next read sees its successor.
            Thread.onSpinWait();
        }
        throw new ServeException(503, "Model '" + model + "' is being swapped; retry");
    }

    /** How many versions are loaded and not closed yet (serving, or retired and still finishing requests). */
    public int openVersions() {
        return open.size();
    }

    /** The names of the models known, sorted. */
    public List<String> modelNames() {
        return List.copyOf(new TreeMap<>(models).keySet());
    }

    /** The version serving each model now (models with none are left out). */
    public Map<String, LoadedVersion> serving() {
        Map<String, LoadedVersion> m = new TreeMap<>();
        models.forEach((k, e) -> {
            LoadedVersion v = e.serving;
            if (v != null) {
                m.put(k, v);
            }
        });
        return m;
    }

    /** The state of every model, by name. */
    public List<ModelStatus> status() {
        List<ModelStatus> out = new ArrayList<>();
        for (String name : modelNames()) {
            ModelStatus s = status(name);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /** The state of one model, or null when it is unknown. */
    public ModelStatus status(String name) {
        Entry e = models.get(name);
        if (e == null) {
            return null;
        }
        LoadedVersion v = e.serving;
        return new ModelStatus(name, v == null ? null : v.version(), e.pinned,
                List.copyOf(new TreeMap<>(e.onDisk).keySet()), failures(e));
    }

    private static Map<Long, String> failures(Entry e) {
        Map<Long, String> f = new TreeMap<>();
        e.failed.forEach((k, v) -> f.put(k, v.message()));
        return Collections.unmodifiableMap(f);
    }

    // ---- changes

    /** Rescans every model folder and applies what changed. */
    public synchronized ReloadReport reload() {
        ensureOpen();
        List<ReloadReport.Event> events = new ArrayList<>();
        Map<String, Map<Long, Fingerprint>> found = scan();
        for (String name : List.copyOf(models.keySet())) {
            if (!found.containsKey(name)) {
                Entry e = models.remove(name);
                unload(e, events, "model folder removed");
            }
        }
        for (Map.Entry<String, Map<Long, Fingerprint>> f : found.entrySet()) {
            Entry e = models.computeIfAbsent(f.getKey(), Entry::new);
            apply(e, f.getValue(), events);
        }
        return new ReloadReport(List.copyOf(events));
    }

    /**
     * Rescans one model's folder and applies what changed.
     *
     * @throws ServeException 404 when the model has no folder
     */
    public synchronized ReloadReport reload(String name) {
        ensureOpen();
        List<ReloadReport.Event> events = new ArrayList<>();
        Map<Long, Fingerprint> versions = validName(name) ? scanModel(root.resolve(name)) : null;
        if (versions == null) {
            Entry e = models.remove(name);
            if (e == null) {
                throw new ServeException(404, "Unknown model '" + name + "'; no folder " + root.resolve(name));
            }
            unload(e, events, "model folder removed");
        } else {
            apply(models.computeIfAbsent(name, Entry::new), versions, events);
        }
        return new ReloadReport(List.copyOf(events));
    }

    /**
     * Pins a model to one version: it serves that version from now on (loading it first) until {@link #unpin}.
     * When the version fails to load, the pin is not kept and the version serving before goes on.
     *
     * @throws ServeException 404 for an unknown model or version, 422 when the version fails to load
     */
    public synchronized ReloadReport pin(String name, long version) {
        ensureOpen();
        Entry e = models.get(name);
        Map<Long, Fingerprint> versions = validName(name) ? scanModel(root.resolve(name)) : null;
        if (e == null || versions == null) {
            throw new ServeException(404, "Unknown model '" + name + "'");
        }
        if (!versions.containsKey(version)) {
            throw new ServeException(404, "Model '" + name + "' has no version " + version + "; versions: "
                    + new TreeMap<>(versions).keySet());
        }
        Long before = e.pinned;
        e.pinned = version;
        List<ReloadReport.Event> events = new ArrayList<>();
        apply(e, versions, events);
        LoadedVersion v = e.serving;
        if (v == null || v.version() != version) {
            e.pinned = before;
            Failure f = e.failed.get(version);
            throw new ServeException(422, "Version " + version + " of model '" + name + "' cannot serve: "
                    + (f != null ? f.message() : "not loaded") + "; the pin was not kept");
        }
        LOG.log(System.Logger.Level.INFO, "Model ''{0}'' pinned to version {1}", name, version);
        return new ReloadReport(List.copyOf(events));
    }

    /** Removes a model's pin: the newest version that loads serves again. */
    public synchronized ReloadReport unpin(String name) {
        ensureOpen();
        Entry e = models.get(name);
        if (e == null) {
            throw new ServeException(404, "Unknown model '" + name + "'");
        }
        e.pinned = null;
        return reload(name);
    }

    /** Reloads every {@code interval} on a background thread (a poll of the folder: cheap when nothing changed). */
    public synchronized void watch(Duration interval) {
        ensureOpen();
        if (watcher != null) {
            throw new IllegalStateException("The repository is already watched");
        }
        watcher = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon(true)
                .name("tandem-repository-watch").unstarted(r));
        long ms = Math.max(1, interval.toMillis());
        watcher.scheduleWithFixedDelay(() -> {
            try {
                if (!closed) {
                    reload();
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "Repository watch: reload failed", e);
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void apply(Entry e, Map<Long, Fingerprint> onDisk, List<ReloadReport.Event> events) {
        e.onDisk = Map.copyOf(onDisk);
        e.failed.keySet().removeIf(v -> !onDisk.containsKey(v));
        if (onDisk.isEmpty()) {
            unload(e, events, "no version folder holds a " + MODEL_FILE);
            return;
        }
        LoadedVersion current = e.serving;
        Long pinned = e.pinned;
        List<Long> candidates = new ArrayList<>(new TreeMap<>(onDisk).descendingKeySet());
        if (pinned != null) {
            if (onDisk.containsKey(pinned)) {
                candidates = List.of(pinned);
            } else {
                LOG.log(System.Logger.Level.WARNING, "Model ''{0}'' is pinned to version {1}, which is gone; "
                        + "serving the newest version instead", e.name, pinned);
                e.pinned = null;
            }
        }
        for (long v : candidates) {
            Fingerprint fp = onDisk.get(v);
            if (current != null && current.version() == v && current.fingerprint().equals(fp)) {
                return;
            }
            if (current != null && e.pinned == null && v < current.version() && onDisk.containsKey(current.version())) {
                // The serving version is still there and newer: a failed newer file never downgrades.
                return;
            }
            Failure f = e.failed.get(v);
            if (f != null && f.fingerprint().equals(fp)) {
                continue;
            }
            try {
                LoadedVersion loaded = load(e.name, v, fp);
                e.failed.remove(v);
                e.serving = loaded;
                events.add(new ReloadReport.Event(e.name, v, ReloadReport.Action.LOADED,
                        current == null ? "now serving" : "replaces version " + current.version()));
                LOG.log(System.Logger.Level.INFO, "Model ''{0}'' version {1} loaded and serving{2}", e.name, v,
                        current == null ? "" : " (replaces version " + current.version() + ")");
                if (current != null) {
                    current.retire();
                    events.add(new ReloadReport.Event(e.name, current.version(), ReloadReport.Action.UNLOADED,
                            "replaced by version " + v));
                }
                return;
            } catch (RuntimeException ex) {
                String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
                e.failed.put(v, new Failure(fp, msg));
                events.add(new ReloadReport.Event(e.name, v, ReloadReport.Action.FAILED, msg));
                listener.loadFailed(e.name, v, msg);
                LOG.log(System.Logger.Level.WARNING, "Model ''{0}'' version {1} failed to load; {2}: {3}", e.name, v,
                        current == null ? "no version of it serves" : "version " + current.version()
                                + " keeps serving", msg);
            }
        }
    }

    private void unload(Entry e, List<ReloadReport.Event> events, String why) {
        if (e == null) {
            return;
        }
        LoadedVersion v = e.serving;
        e.serving = null;
        if (v != null) {
            v.retire();
            events.add(new ReloadReport.Event(e.name, v.version(), ReloadReport.Action.UNLOADED, why));
            LOG.log(System.Logger.Level.INFO, "Model ''{0}'' version {1} unloaded: {2}", e.name, v.version(), why);
        }
    }

    /** Loads, checks and warms up one version; nothing of it is left open when it fails. */
    private LoadedVersion load(String name, long version, Fingerprint fp) {
        Path file = root.resolve(name).resolve(Long.toString(version)).resolve(MODEL_FILE);
        Model model = Model.load(file, modelOptions);
        Classifier classifier = null;
        MicroBatcher batcher = null;
        try {
            String notClassifier = null;
            try {
                classifier = Classifier.wrap(model, Classifier.Options.defaults().withTopK(Integer.MAX_VALUE));
            } catch (ModelException | IllegalArgumentException ex) {
                notClassifier = ex.getMessage();
            }
            checkBudget(model);
            warmUp(model);
            batcher = new MicroBatcher(name + "-" + version, policy, new ModelRunner(model, classifier),
                    rows -> listener.batchRan(name, version, rows));
            LoadedVersion[] self = new LoadedVersion[1];
            self[0] = new LoadedVersion(name, version, file, fp, model, classifier, notClassifier, batcher,
                    () -> open.remove(self[0]));
            open.add(self[0]);
            return self[0];
        } catch (RuntimeException ex) {
            if (batcher != null) {
                batcher.close();
            }
            if (classifier != null) {
                classifier.close();
            }
            model.close();
            throw ex;
        }
    }

    /**
     * With a memory budget, plans the largest batch the policy runs, so that a version which would not fit is
     * refused at load rather than on its first full batch. Models without declared input shapes are checked on each
     * run's plan instead; other planning problems are left to the warm-up run to report.
     */
    private void checkBudget(Model model) {
        if (model.maxMemory() == 0) {
            return;
        }
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (Model.IoInfo i : model.inputs()) {
            TensorType t = i.type();
            if (t == null || t.dims() == null) {
                return;
            }
            long[] d = t.dims();
            int[] dims = new int[d.length];
            for (int k = 0; k < d.length; k++) {
                dims[k] = d[k] >= 0 ? (int) Math.min(d[k], Integer.MAX_VALUE) : k == 0 ? policy.maxBatch() : 1;
            }
            shapes.put(i.name(), Shape.of(dims));
        }
        try {
            model.plan(shapes);
        } catch (MemoryBudgetExceededException e) {
            throw e;
        } catch (ModelException e) {
            // Not a budget question: the warm-up run reports what is wrong with the model.
        }
    }

    /** One run on zeros (batch 1): plans the common case before traffic arrives, and fails a model that cannot run. */
    private static void warmUp(Model model) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        try {
            for (Model.IoInfo i : model.inputs()) {
                TensorType t = i.type();
                if (t == null || t.dims() == null || t.dtype() == null) {
                    return;
                }
                in.put(i.name(), Tensor.allocate(t.dtype(), t.concrete(1)));
            }
            Map<String, Tensor> out;
            try {
                out = model.run(in);
            } catch (MemoryBudgetExceededException ex) {
                throw ex;
            } catch (RuntimeException ex) {
                throw new ModelException("The model failed a first run on zeros: " + ex.getMessage(), ex);
            }
            out.values().forEach(Tensor::close);
        } finally {
            in.values().forEach(Tensor::close);
        }
    }

    // ---- scanning

    private Map<String, Map<Long, Fingerprint>> scan() {
        Map<String, Map<Long, Fingerprint>> found = new HashMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (!validName(name) || !Files.isDirectory(d)) {
                    continue;
                }
                Map<Long, Fingerprint> versions = scanModel(d);
                if (versions != null) {
                    found.put(name, versions);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the model repository '" + root + "': " + e.getMessage(), e);
        }
        return found;
    }

    /** Version → fingerprint of each version folder holding a model file; null when the model folder is gone. */
    private static Map<Long, Fingerprint> scanModel(Path modelDir) {
        if (!Files.isDirectory(modelDir)) {
            return null;
        }
        Map<Long, Fingerprint> versions = new HashMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(modelDir)) {
            for (Path v : dirs) {
                String n = v.getFileName().toString();
                if (!VERSION.matcher(n).matches()) {
                    continue;
                }
                Fingerprint fp = Fingerprint.of(v.resolve(MODEL_FILE));
                if (fp != null) {
                    versions.put(Long.parseLong(n), fp);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "Cannot list ''{0}'': {1}", modelDir, e.getMessage());
            return null;
        }
        return versions;
    }

    private static boolean validName(String name) {
        return NAME.matcher(name).matches();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("The model repository is closed");
        }
    }

    /**
     * Stops watching and retires every version: each closes once its requests in flight are done. Idempotent.
     */
    @Override
    public void close() {
        ScheduledExecutorService w;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            w = watcher;
        }
        if (w != null) {
            w.shutdownNow();
        }
        synchronized (this) {
            for (Entry e : models.values()) {
                unload(e, new ArrayList<>(), "repository closed");
            }
            models.clear();
        }
    }
}
