package dev.tandem.train.nn;

/** The activation ONNX {@code Tanh}, elementwise, as {@code torch.nn.Tanh}. No parameters. */
public final class Tanh extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.tanh(x);
    }
}
