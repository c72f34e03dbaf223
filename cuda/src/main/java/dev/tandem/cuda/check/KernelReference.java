package dev.tandem.cuda.check;

/**
 * Slow, obvious CPU references of what each CUDA kernel computes, in double precision, with Tandem's CPU ops'
 * semantics (the tests check these against the runtime's own training ops). NCHW layouts throughout.
 */
public final class KernelReference {
    private KernelReference() {
    }

    /** ReLU. */
    public static double[] relu(float[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = Math.max(0, x[i]);
        }
        return y;
    }

    /** dx = dy where y > 0. */
    public static double[] reluGrad(float[] dy, float[] y) {
        double[] dx = new double[dy.length];
        for (int i = 0; i < dy.length; i++) {
            dx[i] = y[i] > 0 ? dy[i] : 0;
        }
        return dx;
    }

    /** y[n, c, p] = act(y + bias[c]). */
    public static double[] biasActNchw(float[] y, float[] bias, int channels, int plane, boolean relu) {
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            double v = (double) y[i] + bias[(i / plane) % channels];
            out[i] = relu ? Math.max(0, v) : v;
        }
        return out;
    }

    /** db[c] = Σ_r dy[r, c]. */
    public static double[] biasGradRows(float[] dy, int rows, int cols) {
        double[] db = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                db[c] += dy[r * cols + c];
            }
        }
        return db;
    }

    /** db[c] = Σ_{n,p} dy[n, c, p]. */
    public static double[] biasGradNchw(float[] dy, int batch, int channels, int plane) {
        double[] db = new double[channels];
        for (int n = 0; n < batch; n++) {
            for (int c = 0; c < channels; c++) {
                for (int p = 0; p < plane; p++) {
                    db[c] += dy[(n * channels + c) * plane + p];
                }
            }
        }
        return db;
    }

    /** Pool geometry. */
    public record Pool(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw) {
        /** Output height (floor mode). */
        public int oh() {
            return (h + 2 * ph - kh) / sh + 1;
        }

        /** Output width (floor mode). */
        public int ow() {
            return (w + 2 * pw - kw) / sw + 1;
        }
    }

    /** Max pooling: {values, argmax (flat index in the plane of the first maximum)}. */
    public static Object[] maxPool(float[] x, Pool p) {
        int oh = p.oh(), ow = p.ow();
        double[] y = new double[p.planes() * oh * ow];
        long[] arg = new long[y.length];
        for (int pl = 0; pl < p.planes(); pl++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    int o = (pl * oh + oy) * ow + ox;
                    double best = 0;
                    int where = -1;
                    for (int ky = 0; ky < p.kh(); ky++) {
                        for (int kx = 0; kx < p.kw(); kx++) {
                            int iy = oy * p.sh() - p.ph() + ky, ix = ox * p.sw() - p.pw() + kx;
                            if (iy < 0 || iy >= p.h() || ix < 0 || ix >= p.w()) {
                                continue;
                            }
                            float v = x[(pl * p.h() + iy) * p.w() + ix];
                            if (where < 0 || v > best) {
                                best = v;
                                where = iy * p.w() + ix;
                            }
                        }
                    }
                    y[o] = where < 0 ? 0 : best;
                    arg[o] = where;
                }
            }
        }
        return new Object[] {y, arg};
    }

    /** Max pooling's gradient: each dy goes to its window's first maximum. */
    public static double[] maxPoolGrad(float[] dy, long[] argmax, Pool p) {
        double[] dx = new double[p.planes() * p.h() * p.w()];
        int per = p.oh() * p.ow();
        for (int o = 0; o < dy.length; o++) {
            if (argmax[o] >= 0) {
                dx[(o / per) * p.h() * p.w() + (int) argmax[o]] += dy[o];
            }
        }
        return dx;
    }

    /** Mean of each plane. */
    public static double[] globalAvgPool(float[] x, int planes, int plane) {
        double[] y = new double[planes];
        for (int i = 0; i < planes; i++) {
            double s = 0;
            for (int j = 0; j < plane; j++) {
                s += x[i * plane + j];
            }
            y[i] = s / plane;
        }
        return y;
    }

    /**
     * Batch norm training forward: {y, saved_mean, saved_invstd, running_mean', running_var'} (running stats
     * updated PyTorch's way, unbiased variance).
     */
    public static double[][] batchNormTrain(float[] x, float[] gamma, float[] beta, float[] runMean, float[] runVar,
                                            int batch, int channels, int plane, double eps, double momentum) {
        double[] y = new double[x.length];
        double[] mean = new double[channels], invstd = new double[channels];
        double[] rm = new double[channels], rv = new double[channels];
        int m = batch * plane;
        for (int c = 0; c < channels; c++) {
            double s = 0;
            for (int n = 0; n < batch; n++) {
                for (int p = 0; p < plane; p++) {
                    s += x[(n * channels + c) * plane + p];
                }
            }
            double mu = s / m, d2 = 0;
            for (int n = 0; n < batch; n++) {
                for (int p = 0; p < plane; p++) {
                    double d = x[(n * channels + c) * plane + p] - mu;
                    d2 += d * d;
                }
            }
            double var = d2 / m;
            mean[c] = mu;
            invstd[c] = 1 / Math.sqrt(var + eps);
            for (int n = 0; n < batch; n++) {
                for (int p = 0; p < plane; p++) {
                    int k = (n * channels + c) * plane + p;
                    y[k] = (x[k] - mu) * invstd[c] * gamma[c] + beta[c];
                }
            }
            rm[c] = (1 - momentum) * runMean[c] + momentum * mu;
            rv[c] = (1 - momentum) * runVar[c] + momentum * (m > 1 ? var * m / (m - 1) : var);
        }
        return new double[][] {y, mean, invstd, rm, rv};
    }

    /** Batch norm backward: {dx, dgamma, dbeta}. */
    public static double[][] batchNormGrad(float[] dy, float[] x, float[] gamma, float[] mean, float[] invstd,
                                           int batch, int channels, int plane) {
        double[] dx = new double[x.length], dg = new double[channels], db = new double[channels];
        int m = batch * plane;
        for (int c = 0; c < channels; c++) {
            double sdy = 0, sdyx = 0;
            for (int n = 0; n < batch; n++) {
                for (int p = 0; p < plane; p++) {
                    int k = (n * channels + c) * plane + p;
                    sdy += dy[k];
                    sdyx += dy[k] * (x[k] - (double) mean[c]) * invstd[c];
                }
            }
            dg[c] = sdyx;
            db[c] = sdy;
            double f = (double) gamma[c] * invstd[c] / m;
            for (int n = 0; n < batch; n++) {
                for (int p = 0; p < plane; p++) {
                    int k = (n * channels + c) * plane + p;
                    double xhat = (x[k] - (double) mean[c]) * invstd[c];
                    dx[k] = f * (m * (double) dy[k] - sdy - xhat * sdyx);
                }
            }
        }
        return new double[][] {dx, dg, db};
    }

    /** Softmax cross-entropy with label smoothing: {loss per row, log_prob, dlogits·gradScale}. */
    public static double[][] softmaxCrossEntropy(float[] logits, long[] labels, int rows, int classes,
                                                 double smoothing, double gradScale) {
        double[] loss = new double[rows], lp = new double[rows * classes], d = new double[rows * classes];
        for (int i = 0; i < rows; i++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                mx = Math.max(mx, logits[i * classes + c]);
            }
            double s = 0;
            for (int c = 0; c < classes; c++) {
                s += Math.exp(logits[i * classes + c] - mx);
            }
            double lse = mx + Math.log(s);
            for (int c = 0; c < classes; c++) {
                double l = logits[i * classes + c] - lse;
                double q = smoothing / classes + (c == labels[i] ? 1 - smoothing : 0);
                loss[i] -= q * l;
                lp[i * classes + c] = l;
                d[i * classes + c] = (Math.exp(l) - q) * gradScale;
            }
        }
        return new double[][] {loss, lp, d};
    }

    /**
     * Tandem's DropoutTrain (and tandem_dropout): {y, mask}; element i is kept when SplitMix64's finaliser over
     * (seed, i), as a double in [0, 1), is at least {@code ratio}.
     */
    public static double[][] dropout(float[] x, long seed, double ratio) {
        double keep = 1 / (1 - ratio);
        double[] y = new double[x.length], m = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            long z = seed * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            boolean kept = (z >>> 11) * 0x1.0p-53 >= ratio;
            y[i] = kept ? (float) (x[i] * keep) : 0;
            m[i] = kept ? (float) keep : 0;
        }
        return new double[][] {y, m};
    }

    /** SoftmaxCrossEntropyGrad without weights from the saved log-probabilities: dloss·(p - q)/divisor. */
    public static double[] crossEntropyGrad(double dloss, float[] logProb, long[] labels, int rows, int classes,
                                            double smoothing, double divisor) {
        double[] d = new double[rows * classes];
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < classes; c++) {
                double q = smoothing / classes + (c == labels[i] ? 1 - smoothing : 0);
                d[i * classes + c] = dloss * (Math.exp(logProb[i * classes + c]) - q) / divisor;
            }
        }
        return d;
    }

    /** Inference batch norm over N×C×plane: (x - mean)/sqrt(var + eps)·gamma + beta. */
    public static double[] batchNormInfer(float[] x, float[] gamma, float[] beta, float[] mean, float[] var,
                                          int channels, int plane, double eps) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = (i / plane) % channels;
            y[i] = (x[i] - mean[c]) / Math.sqrt(var[c] + eps) * gamma[c] + beta[c];
        }
        return y;
    }

    /** One SGD step: {p', m'} (see tandem_sgd_step). */
    public static double[][] sgd(float[] p, float[] g, float[] m, double lr, double mu, double scale, double wd,
                                 boolean nesterov) {
        double[] po = new double[p.length], mo = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double gi = g[i] * scale + wd * p[i];
            double mi = mu * m[i] + gi;
            mo[i] = mi;
            po[i] = p[i] - lr * (nesterov ? gi + mu * mi : mi);
        }
        return new double[][] {po, mo};
    }

    /** One Adam/AdamW step at 1-based {@code step}: {p', m', v'} (see tandem_adam_step). */
    public static double[][] adam(float[] p, float[] g, float[] m, float[] v, double lr, long step, double b1,
                                  double b2, double eps, double wd, boolean decoupled, double scale) {
        double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
        double[] po = new double[p.length], mo = new double[p.length], vo = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double gi = g[i] * scale, pi = p[i];
            if (decoupled) {
                pi *= 1 - lr * wd;
            } else {
                gi += wd * pi;
            }
            mo[i] = b1 * m[i] + (1 - b1) * gi;
            vo[i] = b2 * v[i] + (1 - b2) * gi * gi;
            po[i] = pi - lr * (mo[i] / c1) / (Math.sqrt(vo[i] / c2) + eps);
        }
        return new double[][] {po, mo, vo};
    }

    /** float32 → bfloat16 bits, round to nearest even, NaN kept quiet. */
    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7f800000) == 0x7f800000 && (u & 0x007fffff) != 0) {
            return (short) ((u >>> 16) | 0x40);
        }
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    /** bfloat16 bits → float32 (exact). */
    public static float fromBf16(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** Row-major C[M×N] = op(A)·op(B) in double. */
    public static double[] gemm(boolean ta, boolean tb, int m, int n, int k, float[] a, float[] b) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    /** Row-major Σ|op(A)·op(B)| terms per output: the scale of a GEMM's rounding error. */
    public static double[] gemmMagnitude(boolean ta, boolean tb, int m, int n, int k, float[] a, float[] b) {
        float[] aa = new float[a.length], bb = new float[b.length];
        for (int i = 0; i < a.length; i++) {
            aa[i] = Math.abs(a[i]);
        }
        for (int i = 0; i < b.length; i++) {
            bb[i] = Math.abs(b[i]);
        }
        return gemm(ta, tb, m, n, k, aa, bb);
    }

    /** Convolution geometry (NCHW, KCRS, one group). */
    public record Conv(int n, int c, int h, int w, int k, int r, int s, int pad, int stride) {
        /** Output height. */
        public int oh() {
            return (h + 2 * pad - r) / stride + 1;
        }

        /** Output width. */
        public int ow() {
            return (w + 2 * pad - s) / stride + 1;
        }
    }

    /** Cross-correlation y = conv(x, w); {@code abs} sums |terms| instead (the rounding scale). */
    public static double[] conv(float[] x, float[] w, Conv g, boolean abs) {
        int oh = g.oh(), ow = g.ow();
        double[] y = new double[g.n() * g.k() * oh * ow];
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double s = 0;
                        for (int c = 0; c < g.c(); c++) {
                            for (int r = 0; r < g.r(); r++) {
                                for (int q = 0; q < g.s(); q++) {
                                    int iy = oy * g.stride() - g.pad() + r, ix = ox * g.stride() - g.pad() + q;
                                    if (iy < 0 || iy >= g.h() || ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    double t = (double) x[((n * g.c() + c) * g.h() + iy) * g.w() + ix]
                                            * w[((k * g.c() + c) * g.r() + r) * g.s() + q];
                                    s += abs ? Math.abs(t) : t;
                                }
                            }
                        }
                        y[((n * g.k() + k) * oh + oy) * ow + ox] = s;
                    }
                }
            }
        }
        return y;
    }

    /** dx of the convolution given dy; {@code abs} sums |terms|. */
    public static double[] convGradInput(float[] dy, float[] w, Conv g, boolean abs) {
        int oh = g.oh(), ow = g.ow();
        double[] dx = new double[g.n() * g.c() * g.h() * g.w()];
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double d = dy[((n * g.k() + k) * oh + oy) * ow + ox];
                        for (int c = 0; c < g.c(); c++) {
                            for (int r = 0; r < g.r(); r++) {
                                for (int q = 0; q < g.s(); q++) {
                                    int iy = oy * g.stride() - g.pad() + r, ix = ox * g.stride() - g.pad() + q;
                                    if (iy < 0 || iy >= g.h() || ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    double t = d * w[((k * g.c() + c) * g.r() + r) * g.s() + q];
                                    dx[((n * g.c() + c) * g.h() + iy) * g.w() + ix] += abs ? Math.abs(t) : t;
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx;
    }

    /** dw of the convolution given x and dy; {@code abs} sums |terms|. */
    public static double[] convGradWeight(float[] x, float[] dy, Conv g, boolean abs) {
        int oh = g.oh(), ow = g.ow();
        double[] dw = new double[g.k() * g.c() * g.r() * g.s()];
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double d = dy[((n * g.k() + k) * oh + oy) * ow + ox];
                        for (int c = 0; c < g.c(); c++) {
                            for (int r = 0; r < g.r(); r++) {
                                for (int q = 0; q < g.s(); q++) {
                                    int iy = oy * g.stride() - g.pad() + r, ix = ox * g.stride() - g.pad() + q;
                                    if (iy < 0 || iy >= g.h() || ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    double t = d * x[((n * g.c() + c) * g.h() + iy) * g.w() + ix];
                                    dw[((k * g.c() + c) * g.r() + r) * g.s() + q] += abs ? Math.abs(t) : t;
                                }
                            }
                        }
                    }
                }
            }
        }
        return dw;
    }
}
