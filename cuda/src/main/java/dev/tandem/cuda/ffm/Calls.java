package dev.tandem.cuda.ffm;

import dev.tandem.cuda.CudaException;

/** Turns what a downcall throws into the exceptions callers expect. */
public final class Calls {
    private Calls() {
    }

    /**
     * Rethrows {@code t} from {@link java.lang.invoke.MethodHandle#invokeExact}: runtime exceptions and errors as
     * they are, anything else (which a downcall cannot throw) wrapped.
     */
    public static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new CudaException(call + " failed unexpectedly: " + t, t);
    }
}
