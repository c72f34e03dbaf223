package dev.tandem.train.nn;

/** {@code torch.nn.Flatten()} (start_dim 1): [N, ...] → [N, product of the rest], ONNX {@code Flatten} axis 1. */
public final class Flatten extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.flatten(x);
    }
}
