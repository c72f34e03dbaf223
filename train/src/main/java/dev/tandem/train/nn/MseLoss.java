package dev.tandem.train.nn;

import dev.tandem.runtime.tensor.DType;

/**
 * Mean squared error {@code mean((prediction - target)²)} over every element, from ONNX {@code Sub},
 * {@code Mul} and {@code ReduceMean} (keepdims 0). Prediction and target are float32 of the same shape.
 */
public final class MseLoss implements Loss {
    @Override
    public Var emit(Var prediction, Var target) {
        if (!prediction.shape().equals(target.shape()) || prediction.dtype() != DType.FLOAT32
                || target.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException("MseLoss: prediction and target must be float32 of one shape; got "
                    + prediction + " and " + target);
        }
        Var d = Functional.sub(prediction, target);
        return Functional.mean(Functional.mul(d, d));
    }

    @Override
    public Var declareTarget(Var prediction, String name) {
        return prediction.tracer().batchInput(name, DType.FLOAT32, prediction.shape().dims());
    }
}
