package dev.tandem.runtime.kernels.reference;

/**
 * The slow, obvious 2-D transposed convolution over NCHW data in double: every input element is scattered through
 * every tap, {@code out[b, g·opg + co, y·sh - pt + ky·dh, x·sw - pl + kx·dw] += in[b, g·cpg + ci, y, x] ·
 * w[g·cpg + ci, co, ky, kx]}, taps falling outside {@code [0, oh) × [0, ow)} dropped. Weights
 * {@code [cin, cout/groups, kh, kw]}; bias may be null. Also the float64 ConvTranspose kernel of the ops.
 */
public final class ReferenceConvTranspose {
    /** The window: kernel, strides, dilations, leading pads, the output size and the group count. */
    public record Geometry(int kernelH, int kernelW, int strideH, int strideW, int dilationH, int dilationW,
                           int padTop, int padLeft, int outH, int outW, int groups) {
    }

    private ReferenceConvTranspose() {
    }

    public static double[] convTranspose2d(double[] in, int n, int cin, int h, int w, double[] weights, int cout,
                                           double[] bias, Geometry p) {
        int g = p.groups(), cpg = cin / g, opg = cout / g, kh = p.kernelH(), kw = p.kernelW();
        int oh = p.outH(), ow = p.outW();
        double[] out = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                double v = bias == null ? 0 : bias[co];
                java.util.Arrays.fill(out, (b * cout + co) * oh * ow, (b * cout + co + 1) * oh * ow, v);
            }
            for (int ci = 0; ci < cin; ci++) {
                int gi = ci / cpg;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        double xv = in[((b * cin + ci) * h + y) * w + x];
                        for (int co = 0; co < opg; co++) {
                            int oc = gi * opg + co;
                            for (int ky = 0; ky < kh; ky++) {
                                int oy = y * p.strideH() - p.padTop() + ky * p.dilationH();
                                if (oy < 0 || oy >= oh) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ox = x * p.strideW() - p.padLeft() + kx * p.dilationW();
                                    if (ox < 0 || ox >= ow) {
                                        continue;
                                    }
                                    out[((b * cout + oc) * oh + oy) * ow + ox] +=
                                            xv * weights[((ci * opg + co) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
        return out;
    }
}
