package dev.tandem.serve.batch;

import dev.tandem.serve.ServeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Dynamic micro-batching: requests wait in a bounded queue; one worker thread takes the first, waits up to
 * {@link BatchPolicy#maxDelay()} for more (until {@link BatchPolicy#maxBatch()} rows), and hands the batch to a
 * runner, which completes each job's future. Jobs whose answer is no longer wanted (cancelled, or past their
 * deadline) are dropped before running, failed with 504 when still open.
 *
 * <p>{@link #submit} never blocks: a full queue is refused at once (429). Every job submitted is finished exactly
 * once ({@link Job#finish()}), after it ran, was dropped, or was refused at {@link #close()}.
 *
 * <p>Thread-safe. One worker per batcher keeps batches in arrival order and leaves intra-op parallelism to the
 * model's thread pool.
 */
public final class MicroBatcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MicroBatcher.class.getName());

    private final BatchPolicy policy;
    private final BlockingQueue<Job<?>> queue;
    private final Consumer<List<Job<?>>> runner;
    private final IntConsumer batchSizes;
    private final Thread worker;
    private volatile boolean closed;
    /** A job taken from the queue that did not fit the previous batch: it starts the next one. */
    private Job<?> carried;

    /**
     * @param name       names the worker thread
     * @param policy     batch size, delay and queue bound
     * @param runner     runs one batch and completes every job's future (called on the worker thread only)
     * @param batchSizes told the rows of each batch run (metrics)
     */
    public MicroBatcher(String name, BatchPolicy policy, Consumer<List<Job<?>>> runner, IntConsumer batchSizes) {
        this.policy = policy;
        this.queue = new ArrayBlockingQueue<>(policy.queueCapacity());
        this.runner = runner;
        this.batchSizes = batchSizes;
        this.worker = Thread.ofPlatform().name("tandem-batch-" + name).daemon(true).unstarted(this::loop);
        this.worker.start();
    }

    /**
     * Queues a job.
     *
     * @throws ServeException 429 when the queue is full, 503 when this batcher is closed; the job is not finished
     *                        then (the caller still owns it)
     */
    public void submit(Job<?> job) {
        if (closed) {
            throw new ServeException(503, "The model version is being unloaded; retry");
        }
        if (!queue.offer(job)) {
            throw new ServeException(429, "Too many requests waiting (" + policy.queueCapacity()
                    + " queued for this model); retry later");
        }
    }

    /** Requests waiting (not yet taken into a batch). */
    public int queued() {
        return queue.size() + (carried != null ? 1 : 0);
    }

    private void loop() {
        while (!closed) {
            List<Job<?>> batch;
            try {
                batch = gather();
            } catch (InterruptedException e) {
                break;
            }
            if (batch.isEmpty()) {
                continue;
            }
            try {
                int rows = 0;
                for (Job<?> j : batch) {
                    rows += j.rows();
                }
                batchSizes.accept(rows);
                runner.accept(batch);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "Batch runner failed", e);
                for (Job<?> j : batch) {
                    j.result().completeExceptionally(new ServeException(500, "Internal error: " + e));
                }
            } finally {
                for (Job<?> j : batch) {
                    finish(j);
                }
            }
        }
        drainRefused();
    }

    /** The next batch: jobs still wanted, up to maxBatch rows, gathered for at most maxDelay after the first. */
    private List<Job<?>> gather() throws InterruptedException {
        List<Job<?>> batch = new ArrayList<>();
        Job<?> first = carried != null ? carried : queue.poll(100, TimeUnit.MILLISECONDS);
        carried = null;
        if (first == null || dropIfAbandoned(first)) {
            return batch;
        }
        batch.add(first);
        int rows = first.rows();
        long until = System.nanoTime() + policy.maxDelay().toNanos();
        while (rows < policy.maxBatch()) {
            long wait = until - System.nanoTime();
            Job<?> next = wait > 0 ? queue.poll(wait, TimeUnit.NANOSECONDS) : queue.poll();
            if (next == null) {
                break;
            }
            if (dropIfAbandoned(next)) {
                continue;
            }
            if (rows + next.rows() > policy.maxBatch()) {
                carried = next;
                break;
            }
            batch.add(next);
            rows += next.rows();
        }
        return batch;
    }

    private static boolean dropIfAbandoned(Job<?> j) {
        if (!j.abandoned(System.nanoTime())) {
            return false;
        }
        j.result().completeExceptionally(new ServeException(504, "The request timed out waiting in the queue (past its request timeout)"));
        finish(j);
        return true;
    }

    private static void finish(Job<?> j) {
        try {
            j.finish();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Finishing a job failed", e);
        }
    }

    private void drainRefused() {
        List<Job<?>> left = new ArrayList<>();
        if (carried != null) {
            left.add(carried);
            carried = null;
        }
        queue.drainTo(left);
        for (Job<?> j : left) {
            j.result().completeExceptionally(new ServeException(503, "The model version was unloaded; retry"));
            finish(j);
        }
    }

    /**
     * Stops the worker; jobs still queued are failed with 503 and finished. Meant for a batcher with no job in
     * flight (its model version is idle): it does not wait, and the worker ends as soon as it sees the flag.
     * Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        worker.interrupt();
    }
}
