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

    /** The tensor named {@code name}, created zero-filled with {@code shape} on first use. */
    public Tensor tensor(String name, Shape shape) {
        Tensor t = tensors.get(name);
        if (t == null) {
            t = Tensor.allocate(DType.FLOAT32, shape);
            t.segment().asSlice(0, shape.size() * 4).fill((byte) 0);
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

    /** Loads saved state (a resumed run); names must match tensors created by the step graphs. */
    public void load(Map<String, float[]> saved) {
        saved.forEach((k, v) -> {
            Tensor t = tensors.get(k);
            if (t == null || t.size() != v.length) {
                throw new IllegalArgumentException("Checkpoint optimizer state " + k + " does not fit this run");
            }
            t.copyFrom(v);
        });
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
    }
}
