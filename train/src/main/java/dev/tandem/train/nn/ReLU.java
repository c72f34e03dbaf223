package dev.tandem.train.nn;

/** The activation ONNX {@code Relu}, elementwise, as {@code torch.nn.ReLU}. No parameters. */
public final class ReLU extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.relu(x);
    }
}
