package dev.tandem.train.nn;

/** The activation ONNX {@code HardSwish}: {@code x·relu6(x+3)/6}, elementwise, as {@code torch.nn.HardSwish}. No parameters. */
public final class HardSwish extends Module {
    @Override
    public Var forward(Var x) {
        return Functional.hardSwish(x);
    }
}
