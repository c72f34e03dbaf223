package dev.tandem.serve.repository;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.serve.batch.Job;
import dev.tandem.serve.batch.MicroBatcher;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One model version loaded in memory with its batch queue, shared by every request that runs on it and freed when
 * the last of them is done.
 *
 * <p><b>Reference counting.</b> The repository holds one reference while the version serves; each request holds a
 * {@link Lease} and each queued job one more. {@link #retire()} drops the repository's reference when a newer
 * version takes over (or the model is removed): requests that started on this version finish on it, and the model
 * is closed when the count reaches zero, on whichever thread lets go last. A retired version hands out no new
 * leases.
 */
public final class LoadedVersion {
    private static final System.Logger LOG = System.getLogger(LoadedVersion.class.getName());

    private final String name;
    private final long version;
    private final Path file;
    private final Fingerprint fingerprint;
    private final Model model;
    private final Classifier classifier;
    private final String notClassifier;
    private final MicroBatcher batcher;
    private final boolean batchable;
    private final Runnable onClosed;
    private final Instant loadedAt = Instant.now();
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean retired = new AtomicBoolean();
    private volatile boolean closed;

    LoadedVersion(String name, long version, Path file, Fingerprint fingerprint, Model model, Classifier classifier,
                  String notClassifier, MicroBatcher batcher, Runnable onClosed) {
        this.name = name;
        this.version = version;
        this.file = file;
        this.fingerprint = fingerprint;
        this.model = model;
        this.classifier = classifier;
        this.notClassifier = notClassifier;
        this.batcher = batcher;
        this.batchable = batchable(model);
        this.onClosed = onClosed;
    }

    /** True when every input has a symbolic first dimension: requests may then be concatenated along it. */
    private static boolean batchable(Model model) {
        if (model.inputs().isEmpty()) {
            return false;
        }
        for (Model.IoInfo in : model.inputs()) {
            TensorType t = in.type();
            if (t == null || t.dims() == null || t.dims().length == 0 || t.dims()[0] >= 0) {
                return false;
            }
        }
        return true;
    }

    public String name() {
        return name;
    }

    public long version() {
        return version;
    }

    public Path file() {
        return file;
    }

    Fingerprint fingerprint() {
        return fingerprint;
    }

    /** The model; run it only through {@link #submit} (the batch worker), or while holding a lease. */
    public Model model() {
        return model;
    }

    /** The model as an image classifier, or null when it is not one ({@link #notClassifier()} says why). */
    public Classifier classifier() {
        return classifier;
    }

    /** Why the model is not an image classifier, or null when it is. */
    public String notClassifier() {
        return notClassifier;
    }

    /** True when requests may be batched along dimension 0 of every input. */
    public boolean batchable() {
        return batchable;
    }

    public Instant loadedAt() {
        return loadedAt;
    }

    /** Requests waiting in this version's queue. */
    public int queued() {
        return batcher.queued();
    }

    /** True once retired (it may still be finishing requests). */
    public boolean retired() {
        return retired.get();
    }

    /** A lease on this version, or null when it is retired or already closed. */
    public Lease lease() {
        if (retired.get()) {
            return null;
        }
        while (true) {
            int r = refs.get();
            if (r <= 0) {
                return null;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return new Lease();
            }
        }
    }

    /**
     * Queues a job on this version; the job holds its own reference until it is finished. The caller must hold a
     * lease.
     *
     * @throws dev.tandem.serve.ServeException 429 when the queue is full
     */
    public void submit(Job<?> job) {
        if (refs.getAndIncrement() <= 0) {
            throw new IllegalStateException("submit without a lease on " + this);
        }
        job.onDone(this::release);
        try {
            batcher.submit(job);
        } catch (RuntimeException e) {
            job.onDone(null);
            release();
            throw e;
        }
    }

    /** Drops the repository's reference: no new leases; closed once the requests in flight are done. */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            release();
        }
    }

    private void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            closeNow();
        } else if (r < 0) {
            throw new IllegalStateException("Released more often than acquired: " + this);
        }
    }

    private void closeNow() {
        batcher.close();
        if (classifier != null) {
            classifier.close();
        }
        model.close();
        LOG.log(System.Logger.Level.DEBUG, "Model ''{0}'' version {1} closed", name, version);
        onClosed.run();
        closed = true;
    }

    /** True once the model is closed (retired and idle). */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return name + "/" + version;
    }

    /** A request's hold on a version: it stays loaded until every lease is closed. Close once. */
    public final class Lease implements AutoCloseable {
        private final AtomicBoolean released = new AtomicBoolean();

        public LoadedVersion version() {
            return LoadedVersion.this;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                release();
            }
        }
    }
}
