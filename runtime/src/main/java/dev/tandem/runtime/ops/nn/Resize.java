package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Resize (opsets 10–19) and Upsample (opsets 7–9; one class, registered per type), float32, modes nearest and
 * linear on any axes (linear is separable, so it runs one axis at a time; bilinear on H, W is the usual case).
 * Coordinate transformations half_pixel, pytorch_half_pixel, align_corners, asymmetric,
 * tf_half_pixel_for_nearest; nearest modes round_prefer_floor, round_prefer_ceil, floor, ceil. Upsample and
 * Resize-10 use asymmetric coordinates and, for nearest, floor when enlarging and ceil when shrinking (as ONNX
 * Runtime). Scales or sizes must be known at plan time. Unsupported: cubic, antialias, keep_aspect_ratio_policy
 * other than stretch, tf_crop_and_resize (the ROI). Index maps are computed once at preparation.
 */
public final class Resize implements Op {
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final boolean upsample;

    public Resize(boolean upsample) {
        this.upsample = upsample;
    }

    @Override
    public String type() {
        return upsample ? "Upsample" : "Resize";
    }

    @Override
    public int minOpset() {
        return upsample ? 7 : 10;
    }

    /** One resized axis: for each output index, two source indices and the weight of the second. */
    private record AxisMap(int axis, int outLen, int[] i0, int[] i1, float[] w) {
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        ctx.requireType(0, DType.FLOAT32);
        Shape x = ctx.shape(0);
        int r = x.rank();
        String mode = ctx.attrString("mode", "nearest");
        if (mode.equals("bilinear")) {
            mode = "linear";
        }
        if (!mode.equals("nearest") && !mode.equals("linear")) {
            throw ctx.unsupported(type() + " mode '" + mode + "' (supported: nearest, linear)");
        }
        boolean legacy = upsample || ctx.opset() < 11;
        String ctm = legacy ? "asymmetric" : ctx.attrString("coordinate_transformation_mode", "half_pixel");
        String nearestMode = legacy ? "simple" : ctx.attrString("nearest_mode", "round_prefer_floor");
        if (ctx.attrInt("antialias", 0) != 0) {
            throw ctx.unsupported("Resize with antialias = 1");
        }
        switch (ctm) {
            case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nearest" -> { }
            default -> throw ctx.unsupported("coordinate_transformation_mode '" + ctm + "'");
        }
        switch (nearestMode) {
            case "simple", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil" -> { }
            default -> throw ctx.fail("unknown nearest_mode '" + nearestMode + "'");
        }
        int[] axes = new int[r];
        for (int i = 0; i < r; i++) {
            axes[i] = i;
        }
        long[] axesAttr = upsample ? null : ctx.attrInts("axes");
        if (axesAttr != null) {
            axes = new int[axesAttr.length];
            for (int i = 0; i < axes.length; i++) {
                long a = axesAttr[i] < 0 ? axesAttr[i] + r : axesAttr[i];
                if (a < 0 || a >= r) {
                    throw ctx.fail("axis " + axesAttr[i] + " out of range");
                }
                axes[i] = (int) a;
            }
        }
        double[] scale = new double[r];
        int[] outDims = x.dims();
        java.util.Arrays.fill(scale, 1.0);
        float[] scales = null;
        long[] sizes = null;
        if (upsample) {
            scales = ctx.opset() < 9 ? ctx.attrFloats("scales") : ctx.constantFloats(1, "Upsample's scales");
            if (scales == null) {
                throw ctx.fail("Upsample needs scales");
            }
        } else {
            int scalesIdx = ctx.opset() < 11 ? 1 : 2;
            if (ctx.hasInput(scalesIdx) && ctx.shape(scalesIdx).size() > 0) {
                scales = ctx.constantFloats(scalesIdx, "Resize's scales");
            } else if (ctx.opset() >= 11 && ctx.hasInput(3) && ctx.shape(3).size() > 0) {
                sizes = ctx.constantLongs(3, "Resize's sizes");
            } else {
                throw ctx.fail("Resize needs scales or sizes");
            }
        }
        if (sizes != null) {
            String policy = ctx.attrString("keep_aspect_ratio_policy", "stretch");
            if (!policy.equals("stretch")) {
                throw ctx.unsupported("keep_aspect_ratio_policy '" + policy + "'");
            }
            if (sizes.length != axes.length) {
                throw ctx.fail("sizes must have " + axes.length + " values; got " + sizes.length);
            }
            for (int i = 0; i < axes.length; i++) {
                int a = axes[i];
                outDims[a] = Math.toIntExact(sizes[i]);
                scale[a] = x.dim(a) == 0 ? 1.0 : (double) outDims[a] / x.dim(a);
            }
        } else {
            if (scales.length != axes.length) {
                throw ctx.fail("scales must have " + axes.length + " values; got " + scales.length);
            }
            for (int i = 0; i < axes.length; i++) {
                int a = axes[i];
                if (!(scales[i] > 0)) {
                    throw ctx.fail("scales must be > 0; got " + scales[i]);
                }
                scale[a] = scales[i];
                outDims[a] = (int) Math.floor((double) scales[i] * x.dim(a));
            }
        }
        boolean linear = mode.equals("linear");
        List<AxisMap> maps = new ArrayList<>();
        for (int a = 0; a < r; a++) {
            AxisMap am = map(a, x.dim(a), outDims[a], scale[a], ctm, linear, nearestMode);
            if (am != null) {
                maps.add(am);
            }
        }
        Shape outShape = Shape.of(outDims);
        int[] inDims = x.dims();
        return Prepared.of(DType.FLOAT32, outShape, (in, out) -> {
            if (outShape.size() == 0) {
                return;
            }
            float[] cur = in[0].toFloatArray();
            int[] dims = inDims.clone();
            for (AxisMap am : maps) {
                cur = apply(cur, dims, am);
                dims[am.axis] = am.outLen;
            }
            MemorySegment.copy(cur, 0, out[0].segment(), FL, out[0].offset() * 4, cur.length);
        });
    }

    /** The map for one axis, or null when it is the identity. */
    private static AxisMap map(int axis, int in, int out, double scale, String ctm, boolean linear,
                               String nearestMode) {
        int[] i0 = new int[out], i1 = new int[out];
        float[] w = new float[out];
        boolean identity = in == out;
        for (int o = 0; o < out; o++) {
            double xo = switch (ctm) {
                case "half_pixel" -> (o + 0.5) / scale - 0.5;
                case "pytorch_half_pixel" -> out > 1 ? (o + 0.5) / scale - 0.5 : 0;
                case "align_corners" -> out == 1 ? 0 : (double) o * (in - 1) / (out - 1);
                case "tf_half_pixel_for_nearest" -> (o + 0.5) / scale;
                default -> o / scale;
            };
            if (linear) {
                double c = Math.max(0, Math.min(xo, in - 1));
                int a = (int) c;
                i0[o] = a;
                i1[o] = Math.min(a + 1, in - 1);
                w[o] = (float) (c - a);
            } else {
                double f = Math.floor(xo);
                int idx = switch (nearestMode) {
                    case "round_prefer_floor" -> xo - f == 0.5 ? (int) f : (int) Math.round(xo);
                    case "round_prefer_ceil" -> (int) Math.round(xo);
                    case "floor" -> (int) f;
                    case "ceil" -> (int) Math.ceil(xo);
                    default -> scale < 1 ? (int) Math.ceil(xo) : (int) f;
                };
                idx = Math.max(0, Math.min(idx, in - 1));
                i0[o] = idx;
                i1[o] = idx;
            }
            if (i0[o] != o || w[o] != 0f) {
                identity = false;
            }
        }
        return identity ? null : new AxisMap(axis, out, i0, i1, w);
    }

    private static float[] apply(float[] src, int[] dims, AxisMap am) {
        int a = am.axis;
        long outerL = 1, innerL = 1;
        for (int i = 0; i < a; i++) {
            outerL *= dims[i];
        }
        for (int i = a + 1; i < dims.length; i++) {
            innerL *= dims[i];
        }
        int outer = Math.toIntExact(outerL), inner = Math.toIntExact(innerL), inLen = dims[a], outLen = am.outLen;
        float[] dst = new float[Math.toIntExact((long) outer * outLen * inner)];
        for (int p = 0; p < outer; p++) {
            int sBase = p * inLen * inner, dBase = p * outLen * inner;
            for (int o = 0; o < outLen; o++) {
                int s0 = sBase + am.i0[o] * inner, s1 = sBase + am.i1[o] * inner, d = dBase + o * inner;
                float w = am.w[o];
                if (w == 0f) {
                    System.arraycopy(src, s0, dst, d, inner);
                } else {
                    float v = 1f - w;
                    for (int j = 0; j < inner; j++) {
                        dst[d + j] = src[s0 + j] * v + src[s1 + j] * w;
                    }
                }
            }
        }
        return dst;
    }
}
