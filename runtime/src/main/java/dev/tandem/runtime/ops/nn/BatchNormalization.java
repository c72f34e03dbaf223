package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.BatchNorm;
import dev.tandem.runtime.kernels.reference.ReferenceBatchNorm;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * BatchNormalization (opset 6+), inference only: {@code y = scale · (x - mean) / sqrt(var + eps) + B} per channel
 * (axis 1). Float32 (all inputs float32) folds it once into {@code a·x + b} when the parameters are constant
 * ({@link BatchNorm}); float64 X runs the scalar {@link ReferenceBatchNorm}, its parameters float64 or float32 (as
 * opset 15 allows). training_mode = 1, the training outputs, opset 6's is_test = 0 and opset 6–7's spatial = 0 are
 * unsupported.
 */
public final class BatchNormalization implements Op {
    @Override
    public String type() {
        return "BatchNormalization";
    }

    @Override
    public int minOpset() {
        return 6;
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        if (ctx.attrInt("training_mode", 0) != 0) {
            throw ctx.unsupported("BatchNormalization with training_mode = 1 (inference only)");
        }
        if (ctx.opset() < 7 && ctx.attrInt("is_test", 0) == 0) {
            throw ctx.unsupported("BatchNormalization with is_test = 0 (training; inference only)");
        }
        if (ctx.attrInt("spatial", 1) == 0) {
            throw ctx.unsupported("BatchNormalization with spatial = 0");
        }
        for (int i = 1; i < ctx.outputCount(); i++) {
            if (Geometry.hasOutput(ctx, i)) {
                throw ctx.unsupported("BatchNormalization's training outputs (running mean/var, saved statistics)");
            }
        }
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        Shape x = ctx.shape(0);
        if (x.rank() < 2) {
            throw ctx.fail("BatchNormalization input must be [N, C, ...]; got " + x);
        }
        int c = x.dim(1);
        for (int i = 1; i <= 4; i++) {
            if (t == DType.FLOAT32) {
                ctx.requireType(i, DType.FLOAT32);
            } else {
                ctx.requireType(i, DType.FLOAT32, DType.FLOAT64);
            }
            if (ctx.shape(i).rank() != 1 || ctx.shape(i).dim(0) != c) {
                throw ctx.fail("BatchNormalization input " + i + " must be [" + c + "]; got " + ctx.shape(i));
            }
        }
        float eps = ctx.attrFloat("epsilon", 1e-5f);
        if (t == DType.FLOAT64) {
            int n = x.dim(0);
            int inner = c == 0 || n == 0 ? 0 : Math.toIntExact(x.size() / ((long) n * c));
            return Prepared.of(t, x, (in, out) -> Elements.setDoubles(out[0], ReferenceBatchNorm.batchNorm(
                    Elements.toDoubles(in[0]), n, c, inner, Elements.toDoubles(in[1]), Elements.toDoubles(in[2]),
                    Elements.toDoubles(in[3]), Elements.toDoubles(in[4]), eps, Activation.NONE)));
        }
        BatchNorm folded = ctx.constant(1) != null && ctx.constant(2) != null && ctx.constant(3) != null
                && ctx.constant(4) != null
                ? BatchNorm.prepare(ctx.constant(1), ctx.constant(2), ctx.constant(3), ctx.constant(4), eps,
                Activation.NONE) : null;
        return Prepared.of(DType.FLOAT32, x, (in, out) -> {
            BatchNorm bn = folded != null ? folded
                    : BatchNorm.prepare(in[1], in[2], in[3], in[4], eps, Activation.NONE);
            Tensor xc = in[0].contiguous();
            try {
                bn.forward(ctx.pool(), xc, out[0]);
            } finally {
                Gemm.closeCopy(xc, in[0]);
            }
        });
    }
}
