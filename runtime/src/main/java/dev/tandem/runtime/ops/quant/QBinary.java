package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.kernels.Int8Arithmetic;
import dev.tandem.runtime.kernels.Quant;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * The quantized binary element-wise ops {@link QAdd} and {@link QMul}: inputs a, a_scale, a_zero_point, b, b_scale,
 * b_zero_point, y_scale, y_zero_point (scales float32 scalars, zero points 8-bit scalars, all known at plan time; the
 * output's type is y_zero_point's), numpy broadcasting of a and b, and the activation attributes of {@link QConv}
 * (a Relu or Clip applied to the real sum or product before it is requantized).
 *
 * <p>How it runs: when a and b have the output's shape, one vector pass over the three byte arrays
 * ({@link Int8Arithmetic#add}, {@link Int8Arithmetic#mul}); when one of them has the output's shape and the other is
 * constant over each run of trailing dimensions (a scalar, or one value per channel of {@code [N, C, H, W]} as a
 * squeeze-excite gate is), one affine pass per run with the other's value folded in ({@link Int8Arithmetic#affine});
 * any other broadcast, a scalar loop.
 */
final class QBinary {
    private QBinary() {
    }

    static Prepared prepare(OpContext ctx, String op, boolean mul) {
        DType ta = ctx.requireType(0, DType.UINT8, DType.INT8);
        DType tb = ctx.requireType(3, DType.UINT8, DType.INT8);
        DType ty = ctx.hasInput(7) ? ctx.requireType(7, DType.UINT8, DType.INT8) : DType.UINT8;
        float[] scale = new float[3];
        int[] zero = new int[3];
        int[][] params = {{1, 2}, {4, 5}, {6, 7}};
        DType[] types = {ta, tb, ty};
        for (int k = 0; k < 3; k++) {
            int si = params[k][0], zi = params[k][1];
            Tensor s = ctx.constant(si);
            if (s == null || s.dtype() != DType.FLOAT32 || s.size() != 1) {
                throw ctx.unsupported(op + " scale input " + si + " must be a float32 scalar known before the model "
                        + "runs; got " + (s == null ? "a run-time value" : s.dtype() + " " + s.shape()));
            }
            scale[k] = QuantSupport.floats(s)[0];
            if (ctx.hasInput(zi)) {
                ctx.requireType(zi, types[k]);
                Tensor z = ctx.constant(zi);
                if (z == null || z.size() != 1) {
                    throw ctx.unsupported(op + " zero point input " + zi + " must be a scalar known before the model "
                            + "runs");
                }
                zero[k] = QuantSupport.zeros(z, 1)[0];
            }
        }
        Shape sa = ctx.shape(0), sb = ctx.shape(3);
        Shape out;
        try {
            out = Shape.broadcast(sa, sb);
        } catch (IllegalArgumentException e) {
            throw ctx.fail(op + ": " + e.getMessage());
        }
        boolean yu = ty == DType.UINT8;
        int[] range = QConv.range(QConv.clamp(ctx), scale[2], zero[2], Quant.min(yu), Quant.max(yu));
        float lo = range[0] - zero[2], hi = range[1] - zero[2];
        boolean au = ta == DType.UINT8, bu = tb == DType.UINT8;
        long count = out.size();
        Kernel k;
        if (sa.equals(out) && sb.equals(out)) {
            dev.tandem.runtime.exec.ThreadPool pool = ctx.pool();
            k = (a, b, y) -> QuantSupport.chunked(pool, count, (from, len) -> {
                if (mul) {
                    Int8Arithmetic.mul(a.segment(), a.offset() + from, au, zero[0], b.segment(), b.offset() + from, bu,
                            zero[1], scale[0] * scale[1] / scale[2], lo, hi, zero[2], y.segment(), y.offset() + from,
                            len);
                } else {
                    float ma = scale[0] / scale[2], mb = scale[1] / scale[2];
                    Int8Arithmetic.add(a.segment(), a.offset() + from, au, ma, b.segment(), b.offset() + from, bu, mb,
                            -(zero[0] * ma + zero[1] * mb), lo, hi, zero[2], y.segment(), y.offset() + from, len);
                }
            });
        } else if (sa.equals(out) || sb.equals(out)) {
            boolean bSmall = sa.equals(out);
            Shape small = bSmall ? sb : sa;
            int r = out.rank();
            // runs: the trailing dimensions over which the small operand is constant
            int cut = r;
            while (cut > 0 && dim(small, r, cut - 1) == 1) {
                cut--;
            }
            long inner = 1;
            for (int i = cut; i < r; i++) {
                inner *= out.dim(i);
            }
            int runs = Math.toIntExact(count / Math.max(1, inner));
            int[] index = smallIndex(out, small, cut, runs);
            long run = inner;
            // the full operand's parameters, then the small one's
            float sf = scale[bSmall ? 0 : 1], ss = scale[bSmall ? 1 : 0];
            int zf = zero[bSmall ? 0 : 1], zs = zero[bSmall ? 1 : 0];
            boolean fu = bSmall ? au : bu, su = bSmall ? bu : au;
            float ys = scale[2];
            k = (a, b, y) -> {
                Tensor full = bSmall ? a : b, part = bSmall ? b : a;
                for (int o = 0; o < runs; o++) {
                    float v = (get(part, index[o], su) - zs) * ss;
                    float m = mul ? sf * v / ys : sf / ys;
                    float c = mul ? -zf * m : v / ys - zf * m;
                    Int8Arithmetic.affine(full.segment(), full.offset() + o * run, fu, m, c, lo, hi, zero[2],
                            y.segment(), y.offset() + o * run, run);
                }
            };
        } else {
            int[] ia = smallIndex(out, sa, out.rank(), Math.toIntExact(count));
            int[] ib = smallIndex(out, sb, out.rank(), Math.toIntExact(count));
            k = (a, b, y) -> {
                for (int i = 0; i < count; i++) {
                    float va = (get(a, ia[i], au) - zero[0]) * scale[0], vb = (get(b, ib[i], bu) - zero[1]) * scale[1];
                    float v = (mul ? va * vb : va + vb) / scale[2];
                    y.segment().set(ValueLayout.JAVA_BYTE, y.offset() + i, (byte) round(v, lo, hi, zero[2]));
                }
            };
        }
        Kernel kernel = k;
        return Prepared.of(ty, out, (in, o) -> {
            Tensor a = in[0].contiguous(), b = in[3].contiguous();
            try {
                kernel.run(a, b, o[0]);
            } finally {
                if (a != in[0]) {
                    a.close();
                }
                if (b != in[3]) {
                    b.close();
                }
            }
        });
    }

    private interface Kernel {
        void run(Tensor a, Tensor b, Tensor y);
    }

    /** Dimension {@code i} of {@code s} right-aligned to rank {@code r} (1 where s has none). */
    private static int dim(Shape s, int r, int i) {
        int j = i - (r - s.rank());
        return j < 0 ? 1 : s.dim(j);
    }

    /**
     * For each index of the output's first {@code cut} dimensions (row-major, {@code n} of them), the element of
     * {@code s} it reads under broadcasting.
     */
    private static int[] smallIndex(Shape out, Shape s, int cut, int n) {
        int r = out.rank();
        int[] idx = new int[n];
        int[] pos = new int[cut];
        long[] stride = new long[cut];
        long st = 1;
        for (int i = r - 1; i >= 0; i--) {
            if (i < cut) {
                stride[i] = dim(s, r, i) == 1 ? 0 : st;
            }
            st *= dim(s, r, i);
        }
        for (int o = 0; o < n; o++) {
            long e = 0;
            for (int i = 0; i < cut; i++) {
                e += pos[i] * stride[i];
            }
            idx[o] = Math.toIntExact(e);
            for (int i = cut - 1; i >= 0; i--) {
                if (++pos[i] < out.dim(i)) {
                    break;
                }
                pos[i] = 0;
            }
        }
        return idx;
    }

    private static int get(Tensor t, long i, boolean unsigned) {
        byte b = t.segment().get(ValueLayout.JAVA_BYTE, t.offset() + i);
        return unsigned ? b & 0xFF : b;
    }

    private static int round(float v, float lo, float hi, int zero) {
        float c = v >= lo ? v : lo;
        c = c > hi ? hi : c;
        return (int) (Math.rint(c) + zero);
    }
}
