package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.ConvParams;

/**
 * The gradients of a 2-D NCHW convolution, in float64, by the definition: every (output position, tap) pair adds
 * one product. Slow and obvious: the float64 path of the training ops and the reference their float32 kernels are
 * tested against.
 */
public final class ReferenceConvGrad {
    private ReferenceConvGrad() {
    }

    /**
     * dX for {@code y = conv(x, w)}: {@code dy [n, m, oh, ow]}, {@code w [m, c/groups, kh, kw]} → {@code [n, c, h, w]}.
     */
    public static double[] input(double[] dy, double[] w, int n, int c, int h, int wd, int m, ConvParams p) {
        double[] dx = new double[n * c * h * wd];
        visit(n, c, h, wd, m, p, (yi, xi, wi) -> dx[xi] += dy[yi] * w[wi]);
        return dx;
    }

    /** dW for {@code y = conv(x, w)}: {@code dy [n, m, oh, ow]}, {@code x [n, c, h, w]} → {@code [m, c/groups, kh, kw]}. */
    public static double[] weight(double[] dy, double[] x, int n, int c, int h, int wd, int m, ConvParams p) {
        int cg = c / p.groups();
        double[] dw = new double[m * cg * p.kernelH() * p.kernelW()];
        visit(n, c, h, wd, m, p, (yi, xi, wi) -> dw[wi] += dy[yi] * x[xi]);
        return dw;
    }

    private interface Tap {
        void at(int yIndex, int xIndex, int wIndex);
    }

    private static void visit(int n, int c, int h, int wd, int m, ConvParams p, Tap tap) {
        int g = p.groups(), cg = c / g, mg = m / g;
        int oh = p.outH(h), ow = p.outW(wd), kh = p.kernelH(), kw = p.kernelW();
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < m; oc++) {
                int gi = oc / mg;
                for (int cc = 0; cc < cg; cc++) {
                    int ic = gi * cg + cc;
                    for (int i = 0; i < kh; i++) {
                        for (int j = 0; j < kw; j++) {
                            int wi = ((oc * cg + cc) * kh + i) * kw + j;
                            for (int y = 0; y < oh; y++) {
                                int ih = y * p.strideH() - p.padTop() + i * p.dilationH();
                                if (ih < 0 || ih >= h) {
                                    continue;
                                }
                                for (int x = 0; x < ow; x++) {
                                    int iw = x * p.strideW() - p.padLeft() + j * p.dilationW();
                                    if (iw < 0 || iw >= wd) {
                                        continue;
                                    }
                                    tap.at(((b * m + oc) * oh + y) * ow + x, ((b * c + ic) * h + ih) * wd + iw, wi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
