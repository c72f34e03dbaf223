package dev.tandem.train.nn;

/** The activation {@code min(max(x, 0), 6)}, ONNX {@code Clip} with bounds 0 and 6, elementwise, as {@code torch.nn.ReLU6}. No parameters. */
public final class ReLU6 extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.relu6(x);
    }
}
