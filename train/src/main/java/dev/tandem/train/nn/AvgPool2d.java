package dev.tandem.train.nn;

/**
 * Average pooling over [N, C, H, W] with a square window, as {@code torch.nn.AvgPool2d} (floor mode;
 * {@code count_include_pad} true by default, as in PyTorch).
 */
public final class AvgPool2d extends Module {
    private final int kernel;
    private final int stride;
    private final int padding;
    private final boolean countIncludePad;

    /** Stride equal to the window, no padding. */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0, true);
    }

    public AvgPool2d(int kernel, int stride, int padding) {
        this(kernel, stride, padding, true);
    }

    public AvgPool2d(int kernel, int stride, int padding, boolean countIncludePad) {
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("AvgPool2d: kernel and stride >= 1, padding in [0, kernel/2]; got "
                    + kernel + ", " + stride + ", " + padding);
        }
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.countIncludePad = countIncludePad;
    }

    @Override
    public Var forward(Var x) {
        return Functional.avgPool2d(x, kernel, stride, padding, countIncludePad);
    }

    @Override
    protected String extraRepr() {
        return "kernel_size=" + kernel + ", stride=" + stride + ", padding=" + padding;
    }
}
