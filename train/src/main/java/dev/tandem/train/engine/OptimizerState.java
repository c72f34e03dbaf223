package dev.tandem.train.engine;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The optimizer's per-parameter state tensors (momentum buffers, Adam's moments) by name, zero when created, shared
 * by every {@link StepGraph} of a run (one per batch size) and saved in checkpoints.
 */
public final class OptimizerState implements AutoCloseable {
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, float[]> pending = new LinkedHashMap<>();

    /** The tensor named {@code name}, created zero-filled with {@code shape} on first use. */
    public Tensor tensor(String name, Shape shape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            t = Tensor.allocate(DType.FLOAT32, shape);
            t.segment().asSlice(0, shape.size() * 4).fill((byte) 0);
            float[] saved = pending.remove(name);
            if (saved != null) {
                if (saved.length != shape.size()) {
                    t.close();
                    throw new IllegalArgumentException("Checkpoint optimizer state " + name + " has " + saved.length
                            + " values; this run needs " + shape);
                }
                t.copyFrom(saved);
            }
            tensors.put(name, t);
        } else if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException("Optimizer state " + name + " is " + t.shape() + ", not " + shape);
        }
        return t;
    }

    /** The state as arrays, for a checkpoint. */
    public Map<String, float[]> toArrays() {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }

    /**
     * Saved state of a resumed run: each tensor takes its saved values when the step graph first asks for it
     * (its size is checked then).
     */
    public void preload(Map<String, float[]> saved) {
        pending.putAll(saved);
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
    }
}
