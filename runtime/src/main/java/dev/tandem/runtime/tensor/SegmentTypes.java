package dev.tandem.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Loads every kind of {@link MemorySegment} the JDK has before any kernel is compiled.
 *
 * <p>Why: until a heap segment of some element type exists, C2 compiles segment accesses assuming the segments
 * it has seen so far are the only kind (a class-hierarchy dependency: one concrete subtype, one implementation of
 * each accessor). The first {@code MemorySegment.ofArray(float[])} anywhere in the process, seconds into a
 * model's warm-up, then invalidates every compiled method built on that assumption, the GEMM and convolution
 * kernels included: they fall back to the interpreter, where each vector is boxed, and C2 compiles them all
 * again. Measured on MobileNetV2 (docs/benchmarks.md, "Thirteenth session"): one such storm made the eighth run
 * 773 ms instead of about 100. Creating one segment of each kind up front costs nothing and leaves C2 nothing to
 * revise.
 */
public final class SegmentTypes {
    private SegmentTypes() {
    }

    /** Loads the segment classes (once; later calls return at once). */
    public static void load() {
        Holder.LOADED.hashCode();
    }

    private static final class Holder {
        static final Object LOADED = loadAll();

        private static Object loadAll() {
            MemorySegment[] kinds = {
                MemorySegment.ofArray(new byte[1]),
                MemorySegment.ofArray(new short[1]),
                MemorySegment.ofArray(new char[1]),
                MemorySegment.ofArray(new int[1]),
                MemorySegment.ofArray(new long[1]),
                MemorySegment.ofArray(new float[1]),
                MemorySegment.ofArray(new double[1]),
                MemorySegment.ofBuffer(java.nio.ByteBuffer.allocateDirect(1)),
            };
            // A file mapping's segment class, loaded by name: making one needs a file. JDK-internal, so a JDK
            // without it just skips it.
            try {
                Class.forName("jdk.internal.foreign.MappedMemorySegmentImpl", true, null);
            } catch (ClassNotFoundException | LinkageError e) {
                // nothing to load
            }
            return kinds;
        }
    }
}
