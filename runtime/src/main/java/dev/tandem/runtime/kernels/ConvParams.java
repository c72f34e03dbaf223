package dev.tandem.runtime.kernels;

/**
 * Geometry of a 2-D convolution or pooling window over NCHW data: kernel size, strides, explicit padding on each
 * side, dilations and groups (groups is 1 for pooling).
 */
public record ConvParams(int kernelH, int kernelW, int strideH, int strideW, int padTop, int padLeft,
                         int padBottom, int padRight, int dilationH, int dilationW, int groups) {

    public ConvParams {
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("Kernel size must be >= 1, got " + kernelH + "×" + kernelW);
        }
        if (strideH < 1 || strideW < 1) {
            throw new IllegalArgumentException("Strides must be >= 1, got " + strideH + "," + strideW);
        }
        if (dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException("Dilations must be >= 1, got " + dilationH + "," + dilationW);
        }
        if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
            throw new IllegalArgumentException("Padding must be >= 0, got [" + padTop + "," + padLeft + ","
                    + padBottom + "," + padRight + "]");
        }
        if (groups < 1) {
            throw new IllegalArgumentException("Groups must be >= 1, got " + groups);
        }
    }

    /** A k×k window with the given stride and the same padding on every side, no dilation, one group. */
    public static ConvParams square(int k, int stride, int pad) {
        return new ConvParams(k, k, stride, stride, pad, pad, pad, pad, 1, 1, 1);
    }

    /** This geometry with another group count. */
    public ConvParams withGroups(int g) {
        return new ConvParams(kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH,
                dilationW, g);
    }

    /** Output height for input height {@code h} (floor mode). */
    public int outH(int h) {
        return outSize(h, kernelH, strideH, padTop, padBottom, dilationH, false);
    }

    /** Output width for input width {@code w} (floor mode). */
    public int outW(int w) {
        return outSize(w, kernelW, strideW, padLeft, padRight, dilationW, false);
    }

    /**
     * Output size along one axis. {@code ceil} rounds a last partial window up (pooling's ceil_mode), but drops a
     * last window that would start inside the end padding, as PyTorch and ONNX Runtime do.
     *
     * @throws IllegalArgumentException when the window does not fit even once
     */
    public static int outSize(int in, int k, int stride, int padBegin, int padEnd, int dilation, boolean ceil) {
        int span = dilation * (k - 1) + 1;
        int avail = in + padBegin + padEnd - span;
        if (avail < 0) {
            throw new IllegalArgumentException("Window of extent " + span + " does not fit input size " + in
                    + " with padding " + padBegin + "+" + padEnd);
        }
        int out = (ceil ? (avail + stride - 1) / stride : avail / stride) + 1;
        if (ceil && out > 1 && (long) (out - 1) * stride >= in + padBegin) {
            out--;
        }
        return out;
    }
}
