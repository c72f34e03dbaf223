package dev.tandem.serve.batch;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A tensor inference request: the model's inputs by name and the outputs wanted. Jobs with the same non-null
 * {@link #batchKey} can run as one batch, their inputs concatenated along dimension 0.
 */
public final class InferJob extends Job<List<TensorData>> {
    private final Map<String, TensorData> inputs;
    private final Set<String> outputs;
    private final String batchKey;

    /**
     * @param inputs        every model input by name, validated against the model
     * @param outputs       the outputs to return, or null for all
     * @param batchKey      equal for jobs whose inputs differ only in dimension 0 (null: never batched)
     * @param rows          the inputs' dimension 0 when batchable, else 1
     * @param deadlineNanos see {@link Job#deadlineNanos()}
     */
    public InferJob(Map<String, TensorData> inputs, Set<String> outputs, String batchKey, int rows,
                    long deadlineNanos) {
        super(rows, deadlineNanos);
        this.inputs = Map.copyOf(inputs);
        this.outputs = outputs == null ? null : Set.copyOf(outputs);
        this.batchKey = batchKey;
    }

    public Map<String, TensorData> inputs() {
        return inputs;
    }

    /** The outputs wanted, or null for all. */
    public Set<String> outputs() {
        return outputs;
    }

    public String batchKey() {
        return batchKey;
    }
}
