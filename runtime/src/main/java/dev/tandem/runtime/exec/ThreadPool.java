package dev.tandem.runtime.exec;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * An explicit pool of compute threads for the intra-op parallelism of kernels. Nothing in Tandem uses a global
 * pool: whoever runs kernels creates one of these, passes it in, and closes it.
 *
 * <p>{@link #parallelFor} splits work into numbered tasks; the calling thread works too, so a pool of
 * {@code threads} uses {@code threads - 1} worker threads plus the caller. Several threads may call
 * {@code parallelFor} at once (for example concurrent inference runs sharing one pool); their tasks are
 * interleaved on the workers and each call returns when its own tasks are done.
 *
 * <p>Workers spin briefly before parking so that back-to-back kernels do not pay a thread wake-up each.
 * Workers are daemon threads named {@code tandem-compute-N}.
 */
public final class ThreadPool implements AutoCloseable {
    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Thread[] workers;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    /**
     * A pool running work on {@code threads} threads in all (the caller and {@code threads - 1} workers).
     *
     * @throws IllegalArgumentException when {@code threads < 1}
     */
    public ThreadPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("A thread pool needs at least 1 thread, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workLoop, "tandem-compute-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** A pool of one thread: {@link #parallelFor} runs everything on the caller. */
    public static ThreadPool singleThreaded() {
        return new ThreadPool(1);
    }

    /** Threads in all, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task.accept(i)} for every {@code i} in {@code [0, count)}, spread over the pool, and returns when
     * all are done. The first exception thrown by a task is rethrown here (after the other tasks finish).
     *
     * @throws IllegalStateException when the pool is closed
     */
    public void parallelFor(int count, IntConsumer task) {
        if (closed) {
            throw new IllegalStateException("ThreadPool is closed");
        }
        if (count <= 0) {
            return;
        }
        if (count == 1 || workers.length == 0) {
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
            return;
        }
        Job job = new Job(count, task, Thread.currentThread());
        int helpers = Math.min(workers.length, count - 1);
        for (int i = 0; i < helpers; i++) {
            queue.offer(job);
        }
        job.work();
        job.await();
        if (job.failure != null) {
            if (job.failure instanceof RuntimeException re) {
                throw re;
            }
            if (job.failure instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(job.failure);
        }
    }

    private void workLoop() {
        while (!closed) {
            Job job = queue.poll();
            if (job == null) {
                long until = System.nanoTime() + SPIN_NANOS;
                while (job == null && System.nanoTime() < until && !closed) {
                    Thread.onSpinWait();
                    job = queue.poll();
                }
            }
            if (job == null) {
                try {
                    job = queue.poll(100, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (job != null) {
                job.work();
            }
        }
    }

    /** Stops the worker threads (after their current task). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Thread t : workers) {
            t.interrupt();
        }
    }

    private static final class Job {
        final int count;
        final IntConsumer task;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(int count, IntConsumer task, Thread caller) {
            this.count = count;
            this.task = task;
            this.caller = caller;
        }

        void work() {
            int i;
            while ((i = next.getAndIncrement()) < count) {
                try {
                    task.accept(i);
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                }
                if (done.incrementAndGet() == count) {
                    LockSupport.unpark(caller);
                }
            }
        }

        void await() {
            long until = System.nanoTime() + SPIN_NANOS;
            while (done.get() < count) {
                if (System.nanoTime() < until) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }
}
