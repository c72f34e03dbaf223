package dev.tandem.runtime.plan;

import java.util.List;

/**
 * Assigns arena offsets to buffers so that buffers alive at the same time never overlap. Implementations must be
 * deterministic.
 */
public interface MemoryPlanner {
    /**
     * @param alignment every offset is a multiple of it (a power of two)
     * @return one byte offset per request, in request order
     */
    long[] place(List<BufferRequest> requests, int alignment);

    /** The arena size the offsets need: the end of the furthest buffer. */
    static long arenaBytes(List<BufferRequest> requests, long[] offsets) {
        long end = 0;
        for (int i = 0; i < offsets.length; i++) {
            end = Math.max(end, offsets[i] + requests.get(i).bytes());
        }
        return end;
    }
}
