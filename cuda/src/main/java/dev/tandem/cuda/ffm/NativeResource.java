package dev.tandem.cuda.ffm;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Base of everything that owns a CUDA object (device memory, a stream, a module, a handle): {@code close()} frees it
 * once, later closes do nothing, and any other use after close throws {@link IllegalStateException} naming the
 * object. Subclasses call {@link #checkOpen()} at the top of each operation.
 */
public abstract class NativeResource implements AutoCloseable {
    private final AtomicBoolean closed = new AtomicBoolean();

    /** What this is, for messages: "device buffer of 4096 bytes", "CUDA stream". */
    protected abstract String describe();

    /** Frees the native object; called at most once. */
    protected abstract void release();

    /** Throws {@link IllegalStateException} when closed. */
    protected final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(describe() + " is closed");
        }
    }

    /** Whether {@link #close()} was called. */
    public final boolean isClosed() {
        return closed.get();
    }

    /** Frees the native object; idempotent. */
    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            release();
        }
    }

    @Override
    public String toString() {
        return describe() + (isClosed() ? " (closed)" : "");
    }
}
