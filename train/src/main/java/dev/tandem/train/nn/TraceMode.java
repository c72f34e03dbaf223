package dev.tandem.train.nn;

/**
 * What a trace builds: which ops layers emit and how module state (parameters and buffers) enters the graph.
 *
 * <table>
 *   <caption>Trace modes</caption>
 *   <tr><th>mode</th><th>ops</th><th>parameters and buffers</th></tr>
 *   <tr><td>{@link #TRAIN}</td><td>training ops: {@code dev.tandem.BatchNormTrain}, {@code dev.tandem.DropoutTrain}
 *       (for modules whose {@link Module#isTraining()} is true); standard ONNX otherwise</td>
 *       <td>graph inputs, bound by the trainer to the module's tensors</td></tr>
 *   <tr><td>{@link #EVAL}</td><td>standard ONNX opset 17 only (inference BatchNormalization, no dropout)</td>
 *       <td>graph inputs (an evaluation plan that reads the live parameters)</td></tr>
 *   <tr><td>{@link #EXPORT}</td><td>as {@link #EVAL}</td>
 *       <td>initializers: copies of the module's tensors owned by the graph (an ONNX file)</td></tr>
 * </table>
 */
public enum TraceMode {
    TRAIN, EVAL, EXPORT;

    /** True when module state becomes graph inputs (not initializers). */
    public boolean stateAsInputs() {
        return this != EXPORT;
    }
}
