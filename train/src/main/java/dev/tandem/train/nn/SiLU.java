package dev.tandem.train.nn;

/** The activation {@code x·sigmoid(x)} (ONNX {@code Sigmoid} and {@code Mul}), elementwise, as {@code torch.nn.SiLU}. No parameters. */
public final class SiLU extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.silu(x);
    }
}
