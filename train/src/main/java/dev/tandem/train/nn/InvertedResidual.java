package dev.tandem.train.nn;

/**
 * The MobileNetV2 block (Sandler et al. 2018), laid out as torchvision's {@code InvertedResidual}: {@code conv}
 * = [1×1 expansion to {@code in·expandRatio} channels + BN + ReLU6 (omitted when the ratio is 1)], 3×3 depthwise
 * (stride {@code stride}) + BN + ReLU6, 1×1 linear projection to {@code out} + BN. The input is added to the
 * result when {@code stride == 1} and {@code in == out}. Convolutions have no bias.
 */
public final class InvertedResidual extends Module {
    private final Sequential conv;
    private final boolean residual;

    public InvertedResidual(int in, int out, int stride, int expandRatio) {
        if (stride != 1 && stride != 2) {
            throw new IllegalArgumentException("InvertedResidual: stride must be 1 or 2; got " + stride);
        }
        if (expandRatio < 1) {
            throw new IllegalArgumentException("InvertedResidual: expand ratio must be >= 1; got " + expandRatio);
        }
        int hidden = in * expandRatio;
        conv = register("conv", new Sequential());
        if (expandRatio != 1) {
            conv.add(convBnRelu6(in, hidden, 1, 1, 1));
        }
        conv.add(convBnRelu6(hidden, hidden, 3, stride, hidden));
        conv.add(new Conv2d(hidden, out, 1, 1, 0, false));
        conv.add(new BatchNorm2d(out));
        residual = stride == 1 && in == out;
    }

    /** Convolution (padding k/2, no bias) + BN + ReLU6, as torchvision's {@code Conv2dNormActivation}. */
    static Sequential convBnRelu6(int in, int out, int kernel, int stride, int groups) {
        return new Sequential(new Conv2d(in, out, kernel, stride, (kernel - 1) / 2, 1, groups, false),
                new BatchNorm2d(out), new ReLU6());
    }

    /** True when the input is added to the block's result. */
    public boolean residual() {
        return residual;
    }

    @Override
    public Var forward(Var x) {
        Var y = conv.call(x);
        return residual ? Functional.add(x, y) : y;
    }
}
