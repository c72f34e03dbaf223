package dev.tandem.cuda.dnn;

/**
 * The shapes of one 2-D convolution (NCHW input, KCRS weights with C the channels per group), the key under which
 * its cuDNN algorithms are chosen once and cached.
 */
public record ConvShape(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH,
                        int strideW, int dilationH, int dilationW, int groups) {
    public ConvShape {
        if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || r < 1 || s < 1 || strideH < 1 || strideW < 1
                || dilationH < 1 || dilationW < 1 || groups < 1 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("invalid convolution shape " + this);
        }
        if (c % groups != 0 || k % groups != 0) {
            throw new IllegalArgumentException("channels " + c + " and filters " + k + " must divide into "
                    + groups + " groups");
        }
        if (outH(h, r, padH, strideH, dilationH) < 1 || outH(w, s, padW, strideW, dilationW) < 1) {
            throw new IllegalArgumentException("convolution " + this + " has an empty output");
        }
    }

    /** A square-kernel, unit-dilation, single-group convolution. */
    public static ConvShape of(int n, int c, int h, int w, int k, int kernel, int pad, int stride) {
        return new ConvShape(n, c, h, w, k, kernel, kernel, pad, pad, stride, stride, 1, 1, 1);
    }

    /** Output height. */
    public int outH() {
        return outH(h, r, padH, strideH, dilationH);
    }

    /** Output width. */
    public int outW() {
        return outH(w, s, padW, strideW, dilationW);
    }

    /** Elements of the input. */
    public long inputElements() {
        return (long) n * c * h * w;
    }

    /** Elements of the weights. */
    public long weightElements() {
        return (long) k * (c / groups) * r * s;
    }

    /** Elements of the output. */
    public long outputElements() {
        return (long) n * k * outH() * outW();
    }

    private static int outH(int in, int kernel, int pad, int stride, int dilation) {
        return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    }
}
