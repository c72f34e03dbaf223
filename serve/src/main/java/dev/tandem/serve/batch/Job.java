package dev.tandem.serve.batch;

import java.util.concurrent.CompletableFuture;

/**
 * One request waiting in a {@link MicroBatcher}: what to run, how many batch rows it brings, until when its answer
 * is still wanted, and the future its answer completes. The submitter waits on {@link #result()}; the batcher
 * completes it (or fails it, as expired or refused) and then runs {@link #onDone} exactly once, whatever happened.
 *
 * @param <R> the answer's type
 */
public abstract sealed class Job<R> permits InferJob, ClassifyJob {
    private final CompletableFuture<R> result = new CompletableFuture<>();
    private final long deadlineNanos;
    private final int rows;
    private volatile Runnable onDone;

    protected Job(int rows, long deadlineNanos) {
        if (rows < 1) {
            throw new IllegalArgumentException("A job brings at least one row; got " + rows);
        }
        this.rows = rows;
        this.deadlineNanos = deadlineNanos;
    }

    /** The answer, completed by the batch worker. */
    public CompletableFuture<R> result() {
        return result;
    }

    /** Rows along the batch dimension this job adds to a batch. */
    public int rows() {
        return rows;
    }

    /** {@link System#nanoTime()} after which the answer is no longer wanted. */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** True when the answer is no longer wanted: already completed (e.g. cancelled) or past its deadline. */
    boolean abandoned(long now) {
        return result.isDone() || now - deadlineNanos > 0;
    }

    /** Sets what runs once this job is finished (used to release the model version it holds). */
    public void onDone(Runnable r) {
        this.onDone = r;
    }

    void finish() {
        Runnable r = onDone;
        onDone = null;
        if (r != null) {
            r.run();
        }
    }
}
