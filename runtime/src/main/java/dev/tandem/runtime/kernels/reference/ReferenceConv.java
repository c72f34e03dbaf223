package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.ConvParams;

/**
 * The slow, obvious 2-D convolution over NCHW data, accumulating in double: six nested loops, no tricks.
 * Weights {@code [cout, cin/groups, kh, kw]}; bias may be null; the activation is applied in double. The double-in
 * form is also the float64 Conv kernel of the ops.
 */
public final class ReferenceConv {
    private ReferenceConv() {
    }

    public static double[] conv2d(float[] in, int n, int cin, int h, int w, float[] weights, int cout, float[] bias,
                                  ConvParams p, Activation act) {
        return conv2d(Widen.of(in), n, cin, h, w, Widen.of(weights), cout, Widen.of(bias), p, act);
    }

    public static double[] conv2d(double[] in, int n, int cin, int h, int w, double[] weights, int cout,
                                  double[] bias, ConvParams p, Activation act) {
        int oh = p.outH(h), ow = p.outW(w), g = p.groups(), cpg = cin / g, opg = cout / g;
        int kh = p.kernelH(), kw = p.kernelW();
        double[] out = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                int gi = co / opg;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = bias == null ? 0 : bias[co];
                        for (int ci = 0; ci < cpg; ci++) {
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * p.strideH() - p.padTop() + ky * p.dilationH();
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * p.strideW() - p.padLeft() + kx * p.dilationW();
                                    if (ix < 0 || ix >= w) {
                                        continue;
                                    }
                                    double x = in[((b * cin + gi * cpg + ci) * h + iy) * w + ix];
                                    double wt = weights[((co * cpg + ci) * kh + ky) * kw + kx];
                                    acc += x * wt;
                                }
                            }
                        }
                        out[((b * cout + co) * oh + oy) * ow + ox] = ReferenceActivation.apply(act, acc);
                    }
                }
            }
        }
        return out;
    }
}
