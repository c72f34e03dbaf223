package dev.tandem.serve.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.serve.ServeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The batcher alone, with a runner the test controls: gathering, bounds, refusal, expiry, close. */
class MicroBatcherTest {
    private static InferJob job(int rows, long timeoutMs) {
        TensorData x = new TensorData("x", DType.FLOAT32, Shape.of(rows, 2), new float[rows * 2]);
        return new InferJob(Map.of("x", x), null, "k", rows,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs));
    }

    private static void answer(List<Job<?>> batch) {
        for (Job<?> j : batch) {
            ((InferJob) j).result().complete(List.of());
        }
    }

    @Test
    void gathersUpToMaxBatchRowsAndCarriesTheRestToTheNextBatch() throws Exception {
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch firstRunning = new CountDownLatch(1);
        AtomicInteger batches = new AtomicInteger();
        try (MicroBatcher b = new MicroBatcher("t", new BatchPolicy(4, Duration.ofMillis(50), 16), batch -> {
            if (batches.getAndIncrement() == 0) {
                firstRunning.countDown();
                await(release);
            }
            answer(batch);
        }, sizes::add)) {
            InferJob blocker = job(1, 10_000);
            b.submit(blocker);
            // The worker waits 50 ms for more, then runs the first batch (and blocks): the rest queue up.
            assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
            List<InferJob> jobs = List.of(job(1, 10_000), job(2, 10_000), job(2, 10_000), job(1, 10_000));
            AtomicInteger finished = new AtomicInteger();
            for (InferJob j : jobs) {
                j.onDone(finished::incrementAndGet);
                b.submit(j);
            }
            assertThat(b.queued()).isEqualTo(4);
            release.countDown();
            for (InferJob j : jobs) {
                j.result().get(10, TimeUnit.SECONDS);
            }
            blocker.result().get(10, TimeUnit.SECONDS);
            // 1 | 1+2 (the next 2 would pass 4 rows: carried) | 2+1
            assertThat(sizes).containsExactly(1, 3, 3);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (finished.get() < 4 && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertThat(finished.get()).isEqualTo(4);
        }
    }

    @Test
    void aFullQueueIsRefusedWith429AtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (MicroBatcher b = new MicroBatcher("t", new BatchPolicy(1, Duration.ZERO, 2), batch -> {
            await(release);
            answer(batch);
        }, n -> { })) {
            InferJob running = job(1, 10_000);
            b.submit(running);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (b.queued() > 0 && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            b.submit(job(1, 10_000));
            b.submit(job(1, 10_000));
            InferJob refused = job(1, 10_000);
            AtomicInteger done = new AtomicInteger();
            refused.onDone(done::incrementAndGet);
            assertThatThrownBy(() -> b.submit(refused)).isInstanceOf(ServeException.class)
                    .hasMessageContaining("Too many requests")
                    .satisfies(e -> assertThat(((ServeException) e).status()).isEqualTo(429));
            assertThat(done.get()).as("a refused job stays the caller's").isZero();
            release.countDown();
            running.result().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void expiredJobsAreDroppedWith504AndNeverRun() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<Job<?>> ran = new CopyOnWriteArrayList<>();
        try (MicroBatcher b = new MicroBatcher("t", new BatchPolicy(1, Duration.ZERO, 8), batch -> {
            ran.addAll(batch);
            await(release);
            answer(batch);
        }, n -> { })) {
            InferJob first = job(1, 10_000);
            b.submit(first);
            InferJob expiring = job(1, 50);
            AtomicInteger done = new AtomicInteger();
            expiring.onDone(done::incrementAndGet);
            b.submit(expiring);
            InferJob cancelled = job(1, 10_000);
            b.submit(cancelled);
            cancelled.result().cancel(false);
            Thread.sleep(100);
            release.countDown();
            first.result().get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> expiring.result().get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasMessageContaining("timed out");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (done.get() == 0 && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertThat(done.get()).isEqualTo(1);
            assertThat(ran).containsExactly(first);
        }
    }

    @Test
    void aRunnerFailureFailsItsBatchOnlyAndCloseRefusesNewJobs() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        MicroBatcher b = new MicroBatcher("t", new BatchPolicy(1, Duration.ZERO, 8), batch -> {
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("boom");
            }
            answer(batch);
        }, n -> { });
        InferJob bad = job(1, 10_000);
        b.submit(bad);
        assertThatThrownBy(() -> bad.result().get(10, TimeUnit.SECONDS)).hasMessageContaining("boom");
        InferJob good = job(1, 10_000);
        b.submit(good);
        assertThat(good.result().get(10, TimeUnit.SECONDS)).isEmpty();
        b.close();
        assertThatThrownBy(() -> b.submit(job(1, 10_000))).isInstanceOf(ServeException.class)
                .satisfies(e -> assertThat(((ServeException) e).status()).isEqualTo(503));
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
