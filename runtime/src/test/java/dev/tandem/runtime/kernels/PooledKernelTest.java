package dev.tandem.runtime.kernels;

import dev.tandem.runtime.exec.ThreadPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the kernel tests: a 3-thread pool (more threads than this machine's 2 cores, so work really is split
 * and interleaved) and a single-threaded one, opened once per test class.
 */
abstract class PooledKernelTest {
    static ThreadPool pool;
    static ThreadPool single;

    @BeforeAll
    static void openPools() {
        pool = new ThreadPool(3);
        single = ThreadPool.singleThreaded();
    }

    @AfterAll
    static void closePools() {
        pool.close();
        single.close();
    }
}
