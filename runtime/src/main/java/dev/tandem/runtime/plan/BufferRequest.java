package dev.tandem.runtime.plan;

/**
 * One buffer for the memory planner: {@code bytes} long, alive from step {@code first} to step {@code last}
 * inclusive (written by step {@code first}, last read by step {@code last}).
 */
public record BufferRequest(long bytes, int first, int last) {
    public BufferRequest {
        if (bytes < 0 || first > last) {
            throw new IllegalArgumentException("bad buffer request: " + bytes + " bytes, steps " + first + ".." + last);
        }
    }

    /** True when the two buffers are alive at a common step. */
    public boolean overlapsInTime(BufferRequest o) {
        return first <= o.last && o.first <= last;
    }
}
