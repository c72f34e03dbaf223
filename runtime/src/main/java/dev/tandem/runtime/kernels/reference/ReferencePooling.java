package dev.tandem.runtime.kernels.reference;

import dev.tandem.runtime.kernels.ConvParams;

/**
 * The slow, obvious 2-D pooling over NCHW data in double: for every output element, visit every tap of its window.
 * Max pooling skips padding (it acts as {@code -inf}) and propagates NaN; average pooling divides by the in-bounds
 * taps, or with {@code countIncludePad} by the taps inside the padded extent {@code [-padBegin, size + padEnd)}.
 * The double-in forms are also the float64 pooling kernels of the ops.
 */
public final class ReferencePooling {
    private ReferencePooling() {
    }

    public static double[] maxPool(float[] in, int n, int c, int h, int w, ConvParams p, boolean ceil) {
        return maxPool(Widen.of(in), n, c, h, w, p, ceil);
    }

    public static double[] maxPool(double[] in, int n, int c, int h, int w, ConvParams p, boolean ceil) {
        return pool(in, n, c, h, w, p, ceil, true, false);
    }

    public static double[] averagePool(float[] in, int n, int c, int h, int w, ConvParams p, boolean ceil,
                                       boolean countIncludePad) {
        return averagePool(Widen.of(in), n, c, h, w, p, ceil, countIncludePad);
    }

    public static double[] averagePool(double[] in, int n, int c, int h, int w, ConvParams p, boolean ceil,
                                       boolean countIncludePad) {
        return pool(in, n, c, h, w, p, ceil, false, countIncludePad);
    }

    private static double[] pool(double[] in, int n, int c, int h, int w, ConvParams p, boolean ceil, boolean max,
                                 boolean includePad) {
        int oh = ConvParams.outSize(h, p.kernelH(), p.strideH(), p.padTop(), p.padBottom(), p.dilationH(), ceil);
        int ow = ConvParams.outSize(w, p.kernelW(), p.strideW(), p.padLeft(), p.padRight(), p.dilationW(), ceil);
        double[] out = new double[n * c * oh * ow];
        for (int plane = 0; plane < n * c; plane++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    int count = 0;
                    for (int ky = 0; ky < p.kernelH(); ky++) {
                        int iy = oy * p.strideH() - p.padTop() + ky * p.dilationH();
                        for (int kx = 0; kx < p.kernelW(); kx++) {
                            int ix = ox * p.strideW() - p.padLeft() + kx * p.dilationW();
                            boolean inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                            boolean inPadded = iy < h + p.padBottom() && ix < w + p.padRight();
                            if (inside) {
                                double x = in[(plane * h + iy) * w + ix];
                                acc = max ? Math.max(acc, x) : acc + x;
                            }
                            if (includePad ? inPadded : inside) {
                                count++;
                            }
                        }
                    }
                    out[(plane * oh + oy) * ow + ox] = max ? acc : acc / count;
                }
            }
        }
        return out;
    }

    public static double[] globalAveragePool(float[] in, int n, int c, int h, int w) {
        return globalAveragePool(Widen.of(in), n, c, h, w);
    }

    public static double[] globalAveragePool(double[] in, int n, int c, int h, int w) {
        double[] out = new double[n * c];
        for (int plane = 0; plane < n * c; plane++) {
            double s = 0;
            for (int i = 0; i < h * w; i++) {
                s += in[plane * h * w + i];
            }
            out[plane] = s / (h * w);
        }
        return out;
    }

    public static double[] globalMaxPool(float[] in, int n, int c, int h, int w) {
        return globalMaxPool(Widen.of(in), n, c, h, w);
    }

    public static double[] globalMaxPool(double[] in, int n, int c, int h, int w) {
        double[] out = new double[n * c];
        for (int plane = 0; plane < n * c; plane++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < h * w; i++) {
                m = Math.max(m, in[plane * h * w + i]);
            }
            out[plane] = m;
        }
        return out;
    }
}
