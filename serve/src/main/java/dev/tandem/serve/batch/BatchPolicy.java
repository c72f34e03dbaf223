package dev.tandem.serve.batch;

import java.time.Duration;

/**
 * How requests are gathered into batches.
 *
 * @param maxBatch      most rows (images, or dimension-0 entries) run at once; 1 turns batching off
 * @param maxDelay      how long the first request of a batch may wait for others to join it
 * @param queueCapacity most requests waiting per model version; more are refused (HTTP 429)
 */
public record BatchPolicy(int maxBatch, Duration maxDelay, int queueCapacity) {
    public BatchPolicy {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max batch must be >= 1; got " + maxBatch);
        }
        if (maxDelay == null || maxDelay.isNegative()) {
            throw new IllegalArgumentException("max delay must be >= 0; got " + maxDelay);
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("queue capacity must be >= 1; got " + queueCapacity);
        }
    }

    /** 8 rows, 2 ms, 64 queued requests. */
    public static BatchPolicy defaults() {
        return new BatchPolicy(8, Duration.ofMillis(2), 64);
    }
}
