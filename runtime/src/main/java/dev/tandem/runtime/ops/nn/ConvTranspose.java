package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.reference.ReferenceConvTranspose;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ConvTranspose (opset 1+), float32 and float64, 1-D and 2-D: strides, pads, output_padding, output_shape,
 * dilations, group, auto_pad. Float32: per image and group one GEMM {@code cols = Wᵀ · X} ({@code [M/g·kH·kW, H·W]})
 * then a scatter-add (col2im) into the output and the bias; correct, not tuned: the scatter is scalar. Float64:
 * the scalar {@link ReferenceConvTranspose}.
 */
public final class ConvTranspose implements Op {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public String type() {
        return "ConvTranspose";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        Shape x = ctx.shape(0), ws = ctx.shape(1);
        int r = Geometry.spatialRank(ctx, x, "ConvTranspose");
        int group = Math.toIntExact(ctx.attrInt("group", 1));
        int c = x.dim(1);
        if (ws.rank() != x.rank() || group < 1 || c % group != 0 || ws.dim(0) != c) {
            throw ctx.fail("ConvTranspose weights must be [" + c + ", M/group, k...]; got " + ws);
        }
        int opg = ws.dim(1), m = opg * group, cpg = c / group;
        if (ctx.hasInput(2)) {
            ctx.requireType(2, t);
            if (ctx.shape(2).size() != m) {
                throw ctx.fail("ConvTranspose bias must be [" + m + "]; got " + ctx.shape(2));
            }
        }
        int[] in = Geometry.spatial(x), k = Geometry.spatial(ws);
        int[] s = Geometry.ints(ctx, "strides", r, 1);
        int[] d = Geometry.ints(ctx, "dilations", r, 1);
        int[] op = Geometry.ints(ctx, "output_padding", r, 0);
        int[] pb = new int[r], pe = new int[r], out = new int[r];
        long[] outShapeAttr = ctx.attrInts("output_shape");
        String autoPad = ctx.attrString("auto_pad", "NOTSET");
        long[] pads = ctx.attrInts("pads");
        for (int i = 0; i < r; i++) {
            int full = s[i] * (in[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
            if (outShapeAttr != null) {
                if (outShapeAttr.length != r && outShapeAttr.length != r + 2) {
                    throw ctx.fail("output_shape must have " + r + " values");
                }
                out[i] = Math.toIntExact(outShapeAttr[outShapeAttr.length - r + i]);
                int total = full - out[i];
                if (autoPad.equals("SAME_UPPER")) {
                    pb[i] = Math.floorDiv(total, 2);
                    pe[i] = total - pb[i];
                } else {
                    pe[i] = Math.floorDiv(total, 2);
                    pb[i] = total - pe[i];
                }
            } else if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
                out[i] = in[i] * s[i];
                int total = full - out[i];
                int small = Math.floorDiv(total, 2);
                pb[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
                pe[i] = total - pb[i];
            } else {
                if (pads != null && !autoPad.equals("VALID")) {
                    if (pads.length != 2 * r) {
                        throw ctx.fail("pads must have " + 2 * r + " values");
                    }
                    pb[i] = Math.toIntExact(pads[i]);
                    pe[i] = Math.toIntExact(pads[i + r]);
                }
                out[i] = full - pb[i] - pe[i];
            }
            if (out[i] < 0) {
                throw ctx.fail("ConvTranspose output size along axis " + i + " is negative");
            }
        }
        int[] od = new int[x.rank()];
        od[0] = x.dim(0);
        od[1] = m;
        for (int i = 0; i < r; i++) {
            od[i + 2] = out[i];
        }
        Shape outShape = Shape.of(od);
        // 2-D view: height axis 0 when 1-D
        int h = r == 2 ? in[0] : 1, w = in[r - 1];
        int kh = r == 2 ? k[0] : 1, kw = k[r - 1];
        int sh = r == 2 ? s[0] : 1, sw = s[r - 1], dh = r == 2 ? d[0] : 1, dw = d[r - 1];
        int pt = r == 2 ? pb[0] : 0, pl = pb[r - 1];
        int oh = r == 2 ? out[0] : 1, ow = out[r - 1];
        int n = x.dim(0);
        int rows = opg * kh * kw, hw = h * w;
        long macs = (long) n * c * hw * rows;
        if (t == DType.FLOAT64) {
            var geo = new ReferenceConvTranspose.Geometry(kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, group);
            return Prepared.of(t, outShape, macs, (ins, outs) -> Elements.setDoubles(outs[0],
                    ReferenceConvTranspose.convTranspose2d(Elements.toDoubles(ins[0]), n, c, h, w,
                            Elements.toDoubles(ins[1]), m, ins.length > 2 && ins[2] != null
                                    ? Elements.toDoubles(ins[2]) : null, geo)));
        }
        Sgemm gemm = ctx.gemm();
        return Prepared.of(DType.FLOAT32, outShape, macs, (ins, outs) -> {
            Tensor xc = ins[0].contiguous(), wc = ins[1].contiguous();
            float[] bias = ins.length > 2 && ins[2] != null ? ins[2].toFloatArray() : null;
            MemorySegment dst = outs[0].segment();
            long d0 = outs[0].offset();
            // Shared: the GEMM's pool threads write into it.
            try (Arena arena = Arena.ofShared()) {
                MemorySegment cols = arena.allocate(Math.max(4, (long) rows * hw * 4), 64);
                float[] colArr = new float[rows * hw];
                float[] plane = new float[oh * ow];
                for (int b = 0; b < n; b++) {
                    for (int gi = 0; gi < group; gi++) {
                        if (hw > 0 && cpg > 0 && rows > 0) {
                            gemm.gemm(true, false, rows, hw, cpg, 1f, wc.segment(),
                                    wc.offset() + (long) gi * cpg * rows, rows, xc.segment(),
                                    xc.offset() + ((long) b * c + (long) gi * cpg) * hw, hw, 0f, cols, 0, hw);
                            MemorySegment.copy(cols, FL, 0, colArr, 0, colArr.length);
                        } else {
                            java.util.Arrays.fill(colArr, 0f);
                        }
                        for (int co = 0; co < opg; co++) {
                            int oc = gi * opg + co;
                            java.util.Arrays.fill(plane, bias == null ? 0f : bias[oc]);
                            for (int ky = 0; ky < kh; ky++) {
                                for (int kx = 0; kx < kw; kx++) {
                                    int row = (co * kh + ky) * kw + kx;
                                    for (int y = 0; y < h; y++) {
                                        int oy = y * sh - pt + ky * dh;
                                        if (oy < 0 || oy >= oh) {
                                            continue;
                                        }
                                        int cbase = row * hw + y * w;
                                        for (int xx = 0; xx < w; xx++) {
                                            int ox = xx * sw - pl + kx * dw;
                                            if (ox >= 0 && ox < ow) {
                                                plane[oy * ow + ox] += colArr[cbase + xx];
                                            }
                                        }
                                    }
                                }
                            }
                            MemorySegment.copy(plane, 0, dst, FL, (d0 + ((long) b * m + oc) * oh * ow) * 4,
                                    plane.length);
                        }
                    }
                }
            } finally {
                Gemm.closeCopy(xc, ins[0]);
                Gemm.closeCopy(wc, ins[1]);
            }
        });
    }
}
