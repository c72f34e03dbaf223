package dev.tandem.train.nn;

/** The activation ONNX {@code Sigmoid}, elementwise, as {@code torch.nn.Sigmoid}. No parameters. */
public final class Sigmoid extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.sigmoid(x);
    }
}
