package dev.tandem.train.nn;

/**
 * {@code torch.nn.AdaptiveAvgPool2d} for output size 1 only: global average pooling, [N, C, H, W] → [N, C, 1, 1]
 * (ONNX {@code GlobalAveragePool}).
 */
public final class AdaptiveAvgPool2d extends Module {
    /**
     * @throws IllegalArgumentException when {@code outputSize} is not 1
     */
    public AdaptiveAvgPool2d(int outputSize) {
        if (outputSize != 1) {
            throw new IllegalArgumentException("AdaptiveAvgPool2d supports output size 1 only (global average "
                    + "pooling); got " + outputSize + ". Use AvgPool2d with an explicit window for other sizes");
        }
    }

    @Override
    public Var forward(Var x) {
        return Functional.globalAvgPool(x);
    }

    @Override
    protected String extraRepr() {
        return "output_size=1";
    }
}
