package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.ConvParams;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.tensor.Shape;

/**
 * Window geometry shared by Conv, FusedConv and the pools: reads {@code kernel_shape}, {@code strides},
 * {@code pads}, {@code dilations} and {@code auto_pad} for 1-D or 2-D spatial input and turns them into a 2-D
 * {@link ConvParams} (1-D as 2-D with height 1).
 */
public final class Geometry {
    private Geometry() {
    }

    /** Spatial rank of an NC... input: 1 or 2; anything else is unsupported. */
    public static int spatialRank(OpContext ctx, Shape x, String op) {
        if (x.rank() < 3) {
            throw ctx.fail(op + " input must be [N, C, spatial...]; got shape " + x);
        }
        int r = x.rank() - 2;
        if (r > 2) {
            throw ctx.unsupported(op + " over " + r + " spatial dimensions (only 1-D and 2-D are supported)");
        }
        return r;
    }

    /** The input as {@code [N, C, H, W]} (1-D inputs get H = 1). */
    public static Shape as4d(Shape x) {
        return x.rank() == 4 ? x : Shape.of(x.dim(0), x.dim(1), 1, x.dim(2));
    }

    /** Reads an ints attribute of length {@code r} (default {@code def} everywhere). */
    public static int[] ints(OpContext ctx, String name, int r, int def) {
        long[] v = ctx.attrInts(name);
        int[] out = new int[r];
        if (v == null) {
            java.util.Arrays.fill(out, def);
            return out;
        }
        if (v.length != r) {
            throw ctx.fail("attribute '" + name + "' must have " + r + " values; got " + v.length);
        }
        for (int i = 0; i < r; i++) {
            out[i] = Math.toIntExact(v[i]);
        }
        return out;
    }

    /**
     * The 2-D geometry for a window of {@code kernel} (per spatial axis) over {@code spatial} input sizes.
     *
     * @param groups group count (1 for pools)
     */
    public static ConvParams params(OpContext ctx, int[] spatial, int[] kernel, int groups) {
        int r = spatial.length;
        int[] strides = ints(ctx, "strides", r, 1);
        int[] dil = ints(ctx, "dilations", r, 1);
        for (int i = 0; i < r; i++) {
            if (strides[i] < 1 || dil[i] < 1 || kernel[i] < 1) {
                throw ctx.fail("strides, dilations and kernel sizes must be >= 1");
            }
        }
        int[] begin = new int[r];
        int[] end = new int[r];
        String autoPad = ctx.attrString("auto_pad", "NOTSET");
        switch (autoPad) {
            case "NOTSET", "" -> {
                long[] pads = ctx.attrInts("pads");
                if (pads != null) {
                    if (pads.length != 2 * r) {
                        throw ctx.fail("attribute 'pads' must have " + 2 * r + " values; got " + pads.length);
                    }
                    for (int i = 0; i < r; i++) {
                        begin[i] = Math.toIntExact(pads[i]);
                        end[i] = Math.toIntExact(pads[i + r]);
                        if (begin[i] < 0 || end[i] < 0) {
                            throw ctx.fail("pads must be >= 0");
                        }
                    }
                }
            }
            case "VALID" -> { }
            case "SAME_UPPER", "SAME_LOWER" -> {
                for (int i = 0; i < r; i++) {
                    int out = (spatial[i] + strides[i] - 1) / strides[i];
                    int span = (kernel[i] - 1) * dil[i] + 1;
                    int total = Math.max(0, (out - 1) * strides[i] + span - spatial[i]);
                    int small = total / 2;
                    begin[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
                    end[i] = total - begin[i];
                }
            }
            default -> throw ctx.fail("unknown auto_pad '" + autoPad + "'");
        }
        try {
            if (r == 1) {
                return new ConvParams(1, kernel[0], 1, strides[0], 0, begin[0], 0, end[0], 1, dil[0], groups);
            }
            return new ConvParams(kernel[0], kernel[1], strides[0], strides[1], begin[0], begin[1], end[0], end[1],
                    dil[0], dil[1], groups);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
    }

    /** Output shape of a window op: {@code [N, channels, out spatial...]} in the input's rank. */
    public static Shape outShape(OpContext ctx, Shape x, int channels, ConvParams p, boolean ceil) {
        Shape x4 = as4d(x);
        int oh, ow;
        try {
            oh = ConvParams.outSize(x4.dim(2), p.kernelH(), p.strideH(), p.padTop(), p.padBottom(), p.dilationH(),
                    ceil);
            ow = ConvParams.outSize(x4.dim(3), p.kernelW(), p.strideW(), p.padLeft(), p.padRight(), p.dilationW(),
                    ceil);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(e.getMessage());
        }
        return x.rank() == 4 ? Shape.of(x.dim(0), channels, oh, ow) : Shape.of(x.dim(0), channels, ow);
    }

    /** Spatial sizes of an NC... shape. */
    public static int[] spatial(Shape x) {
        int[] s = new int[x.rank() - 2];
        for (int i = 0; i < s.length; i++) {
            s[i] = x.dim(i + 2);
        }
        return s;
    }

    /** Whether the node declares output {@code i} (present and named). */
    public static boolean hasOutput(OpContext ctx, int i) {
        var outs = ctx.node().outputs();
        return i < outs.size() && outs.get(i) != null && !outs.get(i).name().isEmpty();
    }
}
