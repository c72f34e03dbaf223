package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package. */
public final class NnOps {
    private NnOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new Conv());
        r.add(new FusedConv());
        r.add(new FusedExpandDepthwise());
        r.add(new ConvTranspose());
        r.add(new Gemm());
        r.add(new MatMul());
        r.add(new Pool(true));
        r.add(new Pool(false));
        r.add(new GlobalPool(true));
        r.add(new GlobalPool(false));
        r.add(new BatchNormalization());
        r.add(new InstanceNormalization());
        r.add(new LayerNormalization());
        r.add(new SoftmaxOp(false));
        r.add(new SoftmaxOp(true));
        r.add(new Resize(false));
        r.add(new Resize(true));
        r.add(new Pad());
        r.add(new NegativeLogLikelihoodLoss());
        r.add(new SoftmaxCrossEntropyLoss());
    }
}
