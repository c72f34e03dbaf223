package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;

/**
 * Clip (opset 1+): {@code min(max(x, lo), hi)}. Before opset 11 the bounds are the float attributes {@code min}
 * and {@code max}; from 11 they are optional scalar inputs 1 and 2 of X's type, absent (or empty-named) for no
 * bound, read when the kernel runs. A missing bound is the type's lowest/highest value. When {@code lo > hi}
 * every element becomes {@code hi} (as the spec says from opset 12).
 *
 * <p>Types: float32 (vectorised activation), float64 (double), and from opset 12 the integer types (exact long).
 */
final class Clip implements Op {
    @Override
    public String type() {
        return "Clip";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = Broadcasting.requireAny(ctx, 0, Broadcasting.NUMERIC);
        boolean exact = Broadcasting.isIntegral(t);
        double lowest = t == DType.FLOAT32 ? -Float.MAX_VALUE : t == DType.FLOAT64 ? -Double.MAX_VALUE : 0;
        double highest = t == DType.FLOAT32 ? Float.MAX_VALUE : t == DType.FLOAT64 ? Double.MAX_VALUE : 0;
        boolean attrs = ctx.opset() < 11;
        if (attrs && exact) {
            throw ctx.unsupported("Clip before opset 11 takes float tensors only; got " + ctx.typeName(0));
        }
        double attrLo = ctx.hasAttr("min") ? ctx.attrFloat("min", 0) : lowest;
        double attrHi = ctx.hasAttr("max") ? ctx.attrFloat("max", 0) : highest;
        if (!attrs) {
            for (int i = 1; i <= 2; i++) {
                if (ctx.hasInput(i)) {
                    Broadcasting.requireSameType(ctx, 0, i);
                    if (ctx.shape(i).size() != 1) {
                        throw ctx.fail("bound (input " + i + ") must be a scalar; got shape " + ctx.shape(i));
                    }
                }
            }
        }
        return Prepared.of(t, ctx.shape(0), (in, out) -> {
            Tensor x = in[0], r = out[0];
            Tensor loT = attrs || in.length < 2 ? null : in[1];
            Tensor hiT = attrs || in.length < 3 ? null : in[2];
            if (exact) {
                long lo = loT != null ? Elements.getLong(loT, 0) : Broadcasting.minOf(t);
                long hi = hiT != null ? Elements.getLong(hiT, 0) : Broadcasting.maxOf(t);
                Broadcasting.forEachRow(r.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
                    long p = offs[0];
                    for (int j = 0; j < len; j++, p += steps[0]) {
                        Elements.setLong(r, oi + j, Math.min(Math.max(Elements.getLong(x, p), lo), hi));
                    }
                });
                return;
            }
            double lo = attrs ? attrLo : loT != null ? Elements.getDouble(loT, 0) : lowest;
            double hi = attrs ? attrHi : hiT != null ? Elements.getDouble(hiT, 0) : highest;
            if (t == DType.FLOAT32 && lo <= hi) {
                r.copyFrom(x);
                Elementwise.activate(ctx.pool(), Activation.clip((float) lo, (float) hi), r);
                return;
            }
            Broadcasting.forEachRow(r.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
                long p = offs[0];
                for (int j = 0; j < len; j++, p += steps[0]) {
                    Elements.setDouble(r, oi + j, Math.min(Math.max(Elements.getDouble(x, p), lo), hi));
                }
            });
        });
    }
}
