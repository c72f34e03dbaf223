package dev.tandem.train.data;

import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Batches of a {@link Dataset}, read and transformed on background threads while the trainer works on the
 * previous batch.
 *
 * <p><b>Order and contents.</b> Epoch {@code e} visits the samples in a permutation that depends only on
 * (seed, e) when shuffling, in index order otherwise; batch {@code b} holds positions
 * {@code b·batchSize .. (b+1)·batchSize - 1} of it. The last partial batch is kept, or dropped with
 * {@code dropLast}. Each sample's {@link Transform}s draw from a generator seeded by (seed, e, sample index) alone.
 * So the batches of an epoch are the same, bit for bit, whatever the number of worker threads, and
 * {@link #epoch(int, int)} resumes at any batch with exactly the batches an uninterrupted run would have given.
 *
 * <p><b>Threads.</b> {@code workers} daemon threads fill up to {@code prefetch} batches ahead of the consumer, one
 * task per batch (so more workers than {@code prefetch} bring nothing); with 0 workers each batch is made in the
 * consumer's thread when asked for. One consumer thread iterates; {@link #close()} may come from any thread. An
 * exception in a worker is rethrown, as it is, by the consumer's {@link Epoch#next()}, which then ends the epoch.
 *
 * <p><b>Memory.</b> Each epoch owns {@code prefetch + 1} {@link Batch} buffers of {@code batchSize × C × H × W}
 * floats and reuses them round-robin; a batch stays valid until the next {@code next()}. Opening an epoch closes
 * the previous one. {@link #close()} stops the workers and waits for them; it is idempotent, and the loader
 * refuses further use with {@link IllegalStateException}.
 */
public final class DataLoader implements AutoCloseable {
    private final Dataset dataset;
    private final int batchSize;
    private final boolean shuffle;
    private final boolean dropLast;
    private final long seed;
    private final int prefetch;
    private final List<Transform> transforms;
    private final ExecutorService pool;
    /** The pool's threads, so that close can wait until they have ended. */
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private Epoch current;
    private volatile boolean closed;

    private DataLoader(Builder b) {
        this.dataset = b.dataset;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.seed = b.seed;
        this.prefetch = b.prefetch < 0 ? Math.max(2, b.workers) : b.prefetch;
        this.transforms = List.copyOf(b.transforms);
        if (b.workers == 0) {
            this.pool = null;
        } else {
            this.pool = Executors.newFixedThreadPool(b.workers, r -> {
                Thread t = new Thread(r, "tandem-data-" + threads.size());
                t.setDaemon(true);
                threads.add(t);
                return t;
            });
        }
    }

    /** A builder for a loader over {@code dataset}. */
    public static Builder builder(Dataset dataset) {
        return new Builder(dataset);
    }

    /** The dataset batched. */
    public Dataset dataset() {
        return dataset;
    }

    /** Number of batches in every epoch. */
    public int batchesPerEpoch() {
        int n = dataset.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The order in which epoch {@code epoch} visits the dataset's indices. */
    public int[] order(int epoch) {
        int n = dataset.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom rng = Seeds.random(seed, epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** The batches of epoch {@code epoch} (from 0), from its first batch. */
    public Epoch epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /**
     * The batches of epoch {@code epoch} from batch {@code startBatch} on (to resume a run). Closes the epoch opened
     * before, if any.
     *
     * @throws IllegalArgumentException when epoch is negative or startBatch not in 0..batchesPerEpoch()
     * @throws IllegalStateException    when the loader is closed
     */
    public synchronized Epoch epoch(int epoch, int startBatch) {
        checkOpen();
        if (epoch < 0 || startBatch < 0 || startBatch > batchesPerEpoch()) {
            throw new IllegalArgumentException("Epoch " + epoch + ", batch " + startBatch + " is out of range: epochs"
                    + " count from 0 and an epoch has " + batchesPerEpoch() + " batches");
        }
        if (current != null) {
            current.close();
        }
        current = new Epoch(epoch, startBatch);
        return current;
    }

    /**
     * Ends the open epoch and stops the workers, returning once their threads have ended (after at most 10 s, should
     * a sample take that long). Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (current != null) {
            current.close();
        }
        if (pool != null) {
            pool.shutdownNow();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                for (Thread t : threads) {
                    t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("This DataLoader is closed");
        }
    }

    /**
     * The batches of one epoch, in order. Iterate from one thread; the returned {@link Batch} is valid until the
     * next call to {@link #next()}. Closing it cancels the batches in preparation.
     */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int epoch;
        private final int first;
        private final int end;
        private final int[] order;
        private final Batch[] slots;
        private final FutureTask<?>[] pending;
        private volatile boolean cancelled;
        private int next;

        private Epoch(int epoch, int first) {
            this.epoch = epoch;
            this.first = first;
            this.end = batchesPerEpoch();
            this.order = order(epoch);
            int n = Math.max(1, Math.min(prefetch + 1, end - first));
            this.slots = new Batch[n];
            this.pending = new FutureTask<?>[n];
            for (int i = 0; i < n; i++) {
                slots[i] = new Batch(batchSize, dataset.sampleSize());
            }
            this.next = first;
            for (int k = first; k < Math.min(end, first + n); k++) {
                submit(k);
            }
        }

        /** The epoch number. */
        public int number() {
            return epoch;
        }

        @Override
        public boolean hasNext() {
            return next < end;
        }

        /**
         * The next batch, waiting for it if a worker is still filling it.
         *
         * @throws NoSuchElementException when the epoch is over
         * @throws IllegalStateException  when this epoch or the loader is closed
         * @throws RuntimeException       what a worker threw while reading or transforming the batch
         */
        @Override
        public Batch next() {
            if (cancelled || closed) {
                throw new IllegalStateException(closed ? "This DataLoader is closed" : "This epoch is closed");
            }
            if (next >= end) {
                throw new NoSuchElementException("Epoch " + epoch + " has " + end + " batches");
            }
            if (next > first && next - 1 + slots.length < end) {
                submit(next - 1 + slots.length); // into the slot the consumer just gave back
            }
            int slot = next % slots.length;
            FutureTask<?> task = pending[slot];
            if (pool == null) {
                task.run();
            }
            try {
                task.get();
            } catch (ExecutionException e) {
                close();
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw new DataException("Reading batch " + next + " failed: " + e.getCause(), e.getCause());
            } catch (CancellationException e) {
                throw new IllegalStateException("The DataLoader was closed while waiting for a batch", e);
            } catch (InterruptedException e) {
                close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for batch " + next, e);
            }
            next++;
            return slots[slot];
        }

        /** Cancels the batches in preparation; workers stop after their current sample. Idempotent. */
        @Override
        public void close() {
            cancelled = true;
            for (FutureTask<?> t : pending) {
                if (t != null) {
                    t.cancel(false);
                }
            }
        }

        private void submit(int k) {
            Batch b = slots[k % slots.length];
            FutureTask<Void> task = new FutureTask<>(() -> {
                fill(b, k);
                return null;
            });
            pending[k % slots.length] = task;
            if (pool != null) {
                try {
                    pool.execute(task);
                } catch (RejectedExecutionException e) {
                    throw new IllegalStateException("This DataLoader is closed", e);
                }
            }
        }

        private void fill(Batch b, int k) {
            int from = k * batchSize;
            int n = Math.min(batchSize, order.length - from);
            int size = dataset.sampleSize();
            for (int j = 0; j < n && !cancelled; j++) {
                int idx = order[from + j];
                dataset.read(idx, b.data(), j * size);
                b.labels()[j] = dataset.label(idx);
                b.indices()[j] = idx;
                if (!transforms.isEmpty()) {
                    SplittableRandom rng = Seeds.random(seed, epoch, idx);
                    for (Transform t : transforms) {
                        t.apply(b.data(), j * size, dataset.channels(), dataset.height(), dataset.width(), rng);
                    }
                }
            }
            b.size = n;
            b.epoch = epoch;
            b.index = k;
        }
    }

    /** Options of a {@link DataLoader}; {@link #batchSize} is the only one without a default. */
    public static final class Builder {
        private final Dataset dataset;
        private int batchSize = -1;
        private boolean shuffle;
        private boolean dropLast;
        private long seed;
        private int workers = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
        private int prefetch = -1;
        private List<Transform> transforms = List.of();

        private Builder(Dataset dataset) {
            this.dataset = Objects.requireNonNull(dataset, "dataset");
        }

        /** Samples per batch, at least 1. */
        public Builder batchSize(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("Batch size must be >= 1, not " + n);
            }
            this.batchSize = n;
            return this;
        }

        /** Visit the samples in a new seeded permutation every epoch (default: in index order). */
        public Builder shuffle(boolean s) {
            this.shuffle = s;
            return this;
        }

        /** Drop the last batch when it is partial (default: keep it). */
        public Builder dropLast(boolean d) {
            this.dropLast = d;
            return this;
        }

        /** The seed of the permutations and of the transforms' randomness (default 0). */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Worker threads, 0 to work in the consumer's thread (default: half the cores, 1 to 4). */
        public Builder workers(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("Workers must be >= 0, not " + n);
            }
            this.workers = n;
            return this;
        }

        /** Batches prepared ahead of the consumer, at least 1 (default: max(2, workers)). */
        public Builder prefetch(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("Prefetch must be >= 1, not " + n);
            }
            this.prefetch = n;
            return this;
        }

        /** Transforms applied to every sample, in order (default: none). */
        public Builder transforms(Transform... t) {
            this.transforms = List.of(t);
            return this;
        }

        /** Transforms applied to every sample, in order (default: none). */
        public Builder transforms(List<Transform> t) {
            this.transforms = List.copyOf(t);
            return this;
        }

        /** A loader; it owns worker threads until {@link DataLoader#close()}. */
        public DataLoader build() {
            if (batchSize < 1) {
                throw new IllegalStateException("Set the batch size");
            }
            return new DataLoader(this);
        }
    }
}
