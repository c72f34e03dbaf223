package dev.tandem.runtime.ops.train;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.ops.nn.Geometry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * {@code dev.tandem.PoolGrad(dY, X) → dX}: the gradient of a pooling op, with that op's attributes and
 * {@code mode} = "max", "average", "global_average" or "global_max". Max pooling sends each output's gradient to
 * the first maximum of its window (as PyTorch does); average pooling spreads it over the window with the forward's
 * divisor (count_include_pad, ceil_mode). Float32 and float64; planes run in parallel.
 */
public final class PoolGrad implements Op {

    @Override
    public String type() {
        return "PoolGrad";
    }

    @Override
    public String domain() {
        return Node.TANDEM_DOMAIN;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        Shape x = ctx.shape(1);
        String mode = ctx.attrString("mode", "max");
        Geometry.spatialRank(ctx, x, "PoolGrad");
        Shape x4 = Geometry.as4d(x);
        int h = x4.dim(2), w = x4.dim(3), planes = x4.dim(0) * x4.dim(1);
        ConvParams p;
        boolean ceil = ctx.attrInt("ceil_mode", 0) != 0;
        boolean includePad = ctx.attrInt("count_include_pad", 0) != 0;
        boolean max;
        Shape y;
        switch (mode) {
            case "max", "average" -> {
                long[] ks = ctx.attrInts("kernel_shape");
                int r = x.rank() - 2;
                if (ks == null || ks.length != r) {
                    throw ctx.fail("PoolGrad needs kernel_shape with " + r + " values");
                }
                int[] k = new int[r];
                for (int i = 0; i < r; i++) {
                    k[i] = Math.toIntExact(ks[i]);
                }
                p = Geometry.params(ctx, Geometry.spatial(x), k, 1);
                y = Geometry.outShape(ctx, x, x.dim(1), p, ceil);
                max = mode.equals("max");
            }
            case "global_average", "global_max" -> {
                p = new ConvParams(h, w, 1, 1, 0, 0, 0, 0, 1, 1, 1);
                int[] d = x.dims();
                for (int i = 2; i < d.length; i++) {
                    d[i] = 1;
                }
                y = Shape.of(d);
                max = mode.equals("global_max");
            }
            default -> throw ctx.fail("unknown PoolGrad mode '" + mode + "'");
        }
        if (!ctx.shape(0).equals(y)) {
            throw ctx.fail("dY must be " + y + " for input " + x + "; got " + ctx.shape(0));
        }
        Shape y4 = Geometry.as4d(y);
        int oh = y4.dim(2), ow = y4.dim(3);
        var pool = ctx.pool();
        if (t == DType.FLOAT32 && max && mode.equals("max") && isPlain2x2(p) && oh == h / 2 && ow == w / 2) {
            int chunks = Math.min(planes, pool.threads() * 4);
            return Prepared.of(t, x, (in, out) -> {
                Tensor xs = in[1].contiguous(), dys = in[0].contiguous();
                try {
                    pool.parallelFor(chunks, ci -> {
                        for (int plane = planes * ci / chunks; plane < planes * (ci + 1) / chunks; plane++) {
                            TrainKernels.maxPool2x2Grad(xs.segment(), xs.offset() + (long) plane * h * w,
                                    dys.segment(), dys.offset() + (long) plane * oh * ow, out[0].segment(),
                                    out[0].offset() + (long) plane * h * w, h, w, oh, ow);
                        }
                    });
                } finally {
                    if (xs != in[1]) {
                        xs.close();
                    }
                    if (dys != in[0]) {
                        dys.close();
                    }
                }
            });
        }
        return Prepared.of(t, x, (in, out) -> pool.parallelFor(planes, plane -> {
            double[] xp = Doubles.read(in[1], (long) plane * h * w, h * w);
            double[] dyp = Doubles.read(in[0], (long) plane * oh * ow, oh * ow);
            double[] dxp = planeGrad(dyp, xp, h, w, oh, ow, p, max, includePad);
            Doubles.write(dxp, out[0], (long) plane * h * w);
        }));
    }

    /** A 2×2 window with stride 2, no padding and no dilation (the float32 fast path's case). */
    private static boolean isPlain2x2(ConvParams p) {
        return p.kernelH() == 2 && p.kernelW() == 2 && p.strideH() == 2 && p.strideW() == 2 && p.padTop() == 0
                && p.padLeft() == 0 && p.padBottom() == 0 && p.padRight() == 0 && p.dilationH() == 1
                && p.dilationW() == 1;
    }

    /** The gradient over one plane, in float64. */
    static double[] planeGrad(double[] dy, double[] x, int h, int w, int oh, int ow, ConvParams p, boolean max,
                              boolean includePad) {
        double[] dx = new double[h * w];
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                double g = dy[oy * ow + ox];
                int best = -1;
                double bestV = 0;
                int count = 0;
                for (int ky = 0; ky < p.kernelH(); ky++) {
                    int iy = oy * p.strideH() - p.padTop() + ky * p.dilationH();
                    for (int kx = 0; kx < p.kernelW(); kx++) {
                        int ix = ox * p.strideW() - p.padLeft() + kx * p.dilationW();
                        boolean inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                        boolean inPadded = iy < h + p.padBottom() && ix < w + p.padRight();
                        if (inside && max && (best < 0 || x[iy * w + ix] > bestV)) {
                            best = iy * w + ix;
                            bestV = x[best];
                        }
                        if (includePad ? inPadded : inside) {
                            count++;
                        }
                    }
                }
                if (max) {
                    if (best >= 0) {
                        dx[best] += g;
                    }
                    continue;
                }
                double share = g / count;
                for (int ky = 0; ky < p.kernelH(); ky++) {
                    int iy = oy * p.strideH() - p.padTop() + ky * p.dilationH();
                    for (int kx = 0; kx < p.kernelW(); kx++) {
                        int ix = ox * p.strideW() - p.padLeft() + kx * p.dilationW();
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                            dx[iy * w + ix] += share;
                        }
                    }
                }
            }
        }
        return dx;
    }
}
