package dev.tandem.runtime.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThreadPoolTest {
    @Test
    void runsEveryTaskExactlyOnce() {
        try (ThreadPool pool = new ThreadPool(4)) {
            for (int count : new int[] {0, 1, 2, 3, 17, 1000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(count, 1));
                pool.parallelFor(count, hits::incrementAndGet);
                for (int i = 0; i < count; i++) {
                    assertThat(hits.get(i)).as("task %d of %d", i, count).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void usesWorkerThreads() {
        try (ThreadPool pool = new ThreadPool(3)) {
            java.util.Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
            // tasks that wait a little so that the workers pick some up
            pool.parallelFor(64, i -> {
                names.add(Thread.currentThread().getName());
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            });
            assertThat(names).anyMatch(n -> n.startsWith("tandem-compute-"));
        }
    }

    @Test
    void rethrowsTheFirstFailureAfterAllTasksFinish() {
        try (ThreadPool pool = new ThreadPool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(50);
            assertThatThrownBy(() -> pool.parallelFor(50, i -> {
                hits.incrementAndGet(i);
                if (i == 7) {
                    throw new IllegalArgumentException("task 7 failed");
                }
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("task 7 failed");
            for (int i = 0; i < 50; i++) {
                assertThat(hits.get(i)).isEqualTo(1);
            }
            // the pool still works afterwards
            AtomicIntegerArray again = new AtomicIntegerArray(5);
            pool.parallelFor(5, again::incrementAndGet);
            assertThat(again.get(4)).isEqualTo(1);
        }
    }

    @Test
    void concurrentCallersEachGetTheirOwnTasksDone() throws Exception {
        try (ThreadPool pool = new ThreadPool(3)) {
            ExecutorService callers = Executors.newFixedThreadPool(6);
            try {
                List<Future<long[]>> results = new ArrayList<>();
                for (int c = 0; c < 6; c++) {
                    final int seed = c;
                    results.add(callers.submit(() -> {
                        long[] sums = new long[200];
                        for (int round = 0; round < 20; round++) {
                            pool.parallelFor(sums.length, i -> sums[i] += (long) i * seed);
                        }
                        return sums;
                    }));
                }
                for (int c = 0; c < 6; c++) {
                    long[] sums = results.get(c).get();
                    for (int i = 0; i < sums.length; i++) {
                        assertThat(sums[i]).isEqualTo(20L * i * c);
                    }
                }
            } finally {
                callers.shutdownNow();
            }
        }
    }

    @Test
    void closedPoolRefusesWorkAndCloseIsIdempotent() {
        ThreadPool pool = new ThreadPool(2);
        pool.close();
        pool.close();
        assertThatThrownBy(() -> pool.parallelFor(3, i -> { })).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new ThreadPool(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1");
    }
}
