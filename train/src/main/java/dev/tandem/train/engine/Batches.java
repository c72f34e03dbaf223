package dev.tandem.train.engine;

import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Copies a loader batch (arrays sized for a full batch) into a graph's input tensors (sized for this batch). */
final class Batches {
    private Batches() {
    }

    static void copy(float[] data, Tensor t) {
        long n = t.size();
        if (data.length < n) {
            throw new IllegalArgumentException("Batch holds " + data.length + " values; the graph needs " + n);
        }
        MemorySegment.copy(data, 0, t.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() * 4, (int) n);
    }

    static void copy(long[] labels, Tensor t) {
        long n = t.size();
        if (labels.length < n) {
            throw new IllegalArgumentException("Batch holds " + labels.length + " labels; the graph needs " + n);
        }
        MemorySegment.copy(labels, 0, t.segment(), ValueLayout.JAVA_LONG_UNALIGNED, t.offset() * 8, (int) n);
    }
}
