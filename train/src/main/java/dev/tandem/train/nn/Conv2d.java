package dev.tandem.train.nn;

import java.util.Random;

/**
 * 2-D convolution as {@code torch.nn.Conv2d} with square kernel, stride, padding and dilation: weight
 * [out, in/groups, k, k], optional bias [out]. Initialised like PyTorch: weight Kaiming-uniform (a = √5, bound
 * {@code 1/sqrt(fanIn)}), bias uniform ±{@code 1/sqrt(fanIn)}, {@code fanIn = in/groups · k²}.
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final int dilation;
    private final int groups;
    private final Parameter weight;
    private final Parameter bias;

    /** Stride 1, no padding, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernel) {
        this(inChannels, outChannels, kernel, 1, 0, 1, 1, true);
    }

    /** Dilation 1, one group. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, boolean bias) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, bias);
    }

    /**
     * @throws IllegalArgumentException when a size is not positive, padding is negative, or the channel counts
     *                                  are not multiples of {@code groups}
     */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups,
                  boolean bias) {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || stride < 1 || dilation < 1 || groups < 1
                || padding < 0) {
            throw new IllegalArgumentException("Conv2d: channels, kernel, stride, dilation and groups must be >= 1 "
                    + "and padding >= 0; got " + inChannels + ", " + outChannels + ", " + kernel + ", " + stride
                    + ", " + dilation + ", " + groups + ", " + padding);
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv2d: in (" + inChannels + ") and out (" + outChannels
                    + ") channels must be multiples of groups (" + groups + ")");
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        this.weight = addParameter("weight", outChannels, inChannels / groups, kernel, kernel);
        this.bias = bias ? addParameter("bias", outChannels) : null;
        resetOwnParameters(new Random());
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null. */
    public Parameter bias() {
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    @Override
    public Var forward(Var x) {
        Tracer t = x.tracer();
        return Functional.conv2d(x, t.state(weight), bias == null ? null : t.state(bias), stride, padding, dilation,
                groups);
    }

    @Override
    protected void resetOwnParameters(Random random) {
        Init.pytorchDefault(weight, bias, inChannels / groups * kernel * kernel, random);
    }

    @Override
    protected String extraRepr() {
        return inChannels + ", " + outChannels + ", kernel_size=" + kernel + ", stride=" + stride
                + (padding != 0 ? ", padding=" + padding : "") + (dilation != 1 ? ", dilation=" + dilation : "")
                + (groups != 1 ? ", groups=" + groups : "") + (bias == null ? ", bias=False" : "");
    }
}
