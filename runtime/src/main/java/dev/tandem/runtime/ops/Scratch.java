package dev.tandem.runtime.ops;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Per-kernel scratch buffers of one size (what a kernel needs during a run beyond the planned arena: an integer
 * op's float copies and accumulators, a fused op's intermediate block), reused across runs: a run takes one
 * (allocating when all are in use, so concurrent runs each have their own) and gives it back. Memory is
 * GC-managed ({@link Arena#ofAuto()}), freed when the prepared plan is dropped.
 */
public final class Scratch {
    private final long bytes;
    private final ConcurrentLinkedQueue<MemorySegment> free = new ConcurrentLinkedQueue<>();

    public Scratch(long bytes) {
        this.bytes = Math.max(64, bytes);
    }

    public MemorySegment take() {
        MemorySegment s = free.poll();
        return s != null ? s : Arena.ofAuto().allocate(bytes, 64);
    }

    public void give(MemorySegment s) {
        free.offer(s);
    }
}
