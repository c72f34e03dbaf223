package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Elementwise;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Activations with float attributes, on float32/float64: LeakyRelu(alpha=0.01), Elu(alpha=1), Selu(alpha, gamma
 * with ONNX's defaults), HardSigmoid(alpha=0.2, beta=0.5) (opset 1+), and HardSwish (opset 14+, no attributes).
 * Values are computed in double and rounded to the tensor's type; float32 HardSwish runs the vectorised
 * activation.
 */
final class ParamActivation implements Op {
    /** The function. */
    enum Kind {
        LEAKY_RELU("LeakyRelu", 1), ELU("Elu", 1), SELU("Selu", 1), HARD_SIGMOID("HardSigmoid", 1),
        HARD_SWISH("HardSwish", 14);

        final String onnx;
        final int since;

        Kind(String onnx, int since) {
            this.onnx = onnx;
            this.since = since;
        }
    }

    private final Kind kind;

    ParamActivation(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String type() {
        return kind.onnx;
    }

    @Override
    public int minOpset() {
        return kind.since;
    }

    /** The function with its attributes bound. */
    private interface Fn {
        double apply(double x);
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = Broadcasting.requireAny(ctx, 0, Broadcasting.FLOATS);
        if (kind == Kind.HARD_SWISH && t == DType.FLOAT32) {
            return Prepared.of(t, ctx.shape(0), (in, out) -> {
                out[0].copyFrom(in[0]);
                Elementwise.activate(ctx.pool(), Activation.HARDSWISH, out[0]);
            });
        }
        Fn fn = switch (kind) {
            case LEAKY_RELU -> {
                double alpha = ctx.attrFloat("alpha", 0.01f);
                yield x -> x < 0 ? alpha * x : x;
            }
            case ELU -> {
                double alpha = ctx.attrFloat("alpha", 1f);
                yield x -> x < 0 ? alpha * Math.expm1(x) : x;
            }
            case SELU -> {
                double alpha = ctx.attrFloat("alpha", 1.67326319217681884765625f);
                double gamma = ctx.attrFloat("gamma", 1.05070102214813232421875f);
                yield x -> x <= 0 ? gamma * alpha * Math.expm1(x) : gamma * x;
            }
            case HARD_SIGMOID -> {
                double alpha = ctx.attrFloat("alpha", 0.2f);
                double beta = ctx.attrFloat("beta", 0.5f);
                yield x -> Math.max(0, Math.min(1, alpha * x + beta));
            }
            case HARD_SWISH -> x -> x * Math.max(0, Math.min(1, x / 6 + 0.5));
        };
        boolean f32 = t == DType.FLOAT32;
        if (f32 && kind == Kind.LEAKY_RELU) {
            float alpha = ctx.attrFloat("alpha", 0.01f);
            return Prepared.of(t, ctx.shape(0), (in, out) -> {
                Tensor x = in[0].contiguous(), r = out[0];
                MemorySegment xs = x.segment(), rs = r.segment();
                long xo = x.offset(), ro = r.offset(), n = r.size();
                ValueLayout.OfFloat fl = ValueLayout.JAVA_FLOAT_UNALIGNED;
                for (long k = 0; k < n; k++) {
                    float v = xs.getAtIndex(fl, xo + k);
                    rs.setAtIndex(fl, ro + k, v < 0 ? v * alpha : v);
                }
                if (x != in[0]) {
                    x.close();
                }
            });
        }
        return Prepared.of(t, ctx.shape(0), (in, out) -> {
            Tensor x = in[0], r = out[0];
            MemorySegment xs = x.segment(), rs = r.segment();
            long xo = x.offset(), ro = r.offset();
            ValueLayout.OfFloat fl = ValueLayout.JAVA_FLOAT_UNALIGNED;
            Broadcasting.forEachRow(r.shape(), new Tensor[]{x}, (offs, steps, oi, len) -> {
                long p = offs[0];
                for (int j = 0; j < len; j++, p += steps[0]) {
                    if (f32) {
                        rs.setAtIndex(fl, ro + oi + j, (float) fn.apply(xs.getAtIndex(fl, xo + p)));
                    } else {
                        Elements.setDouble(r, oi + j, fn.apply(Elements.getDouble(x, p)));
                    }
                }
            });
        });
    }
}
