package dev.tandem.runtime.kernels;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gets the hot kernels compiled by C2 before a model's first run. Vector API code runs thousands of times slower
 * until C2 compiles it (the interpreter and C1 box every vector), so a first run on a cold JVM pays for that on
 * full-size layers: about 2 s for ResNet-18. Running each kernel path on tiny inputs a few thousand times costs
 * a fraction of that and leaves compiled code behind for every later model. Runs once per JVM; later calls
 * return at once.
 */
public final class KernelWarmup {
    private static final AtomicBoolean DONE = new AtomicBoolean();

    private KernelWarmup() {
    }

    /** Warms the kernels on {@code gemm}'s pool for about {@code millis} milliseconds, once per JVM. */
    public static void ensure(Sgemm gemm, long millis) {
        if (!DONE.compareAndSet(false, true)) {
            return;
        }
        try (Arena arena = Arena.ofShared()) {
            // Sizes large enough to take every branch real layers take (full 12-row panels, several column
            // blocks, long k): C2 compiles with uncommon traps on branches a warm-up never took, and hitting one
            // later deoptimizes back to the interpreter.
            int c = 48, hw = 20;
            Tensor x = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, c, hw, hw));
            Tensor x3 = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, 3, 2 * hw, 2 * hw));
            Conv2d[] convs = {
                conv(ConvParams.square(3, 1, 1), c, c, 1, Activation.RELU, arena),
                conv(ConvParams.square(3, 1, 1), c, c, 1, Activation.NONE, arena),
                conv(ConvParams.square(3, 2, 1), c, c, 1, Activation.RELU, arena),
                conv(ConvParams.square(1, 1, 0), c, 2 * c, 1, Activation.NONE, arena),
                conv(ConvParams.square(1, 1, 0), c, 2 * c, 1, Activation.clip(0, 6), arena),
                conv(ConvParams.square(3, 1, 1).withGroups(c), c, c, c, Activation.clip(0, 6), arena),
                conv(ConvParams.square(3, 2, 1).withGroups(c), c, c, c, Activation.RELU, arena),
                conv(ConvParams.square(5, 1, 2).withGroups(c), c, c, c, Activation.SILU, arena),
                conv(ConvParams.square(5, 1, 2).withGroups(c), c, c, c, Activation.clip(0, 6), arena),
                conv(ConvParams.square(5, 2, 2).withGroups(c), c, c, c, Activation.SILU, arena),
            };
            // the stride-2 depthwise convolution over planes in phase order (a fused expansion's path)
            Conv2d phased = convs[6];
            Tensor phases = Tensor.allocate(arena, DType.FLOAT32, Shape.of(c * hw * hw
                    + (int) (Conv2d.phasesSlackBytes() / 4)));
            Conv2d stem = conv(ConvParams.square(7, 2, 3), 3, c, 1, Activation.RELU, arena);
            // a plane large enough for the flat depthwise kernel to read its inner rows in place, the flat kernel at
            // stride 2, and a stride-2 depthwise convolution of an odd-sized plane (Depthwise3x3)
            Conv2d wideDepthwise = conv(ConvParams.square(3, 1, 1).withGroups(3), 3, 3, 3, Activation.clip(0, 6),
                    arena);
            Conv2d wideStrided = conv(ConvParams.square(3, 2, 1).withGroups(3), 3, 3, 3, Activation.clip(0, 6),
                    arena);
            Tensor wideOut = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, 3, 2 * hw, 2 * hw));
            Tensor wideStridedOut = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, 3, hw, hw));
            Tensor odd = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, 3, 2 * hw + 1, 2 * hw + 1));
            Tensor oddOut = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, 3, hw + 1, hw + 1));
            Tensor[] outs = new Tensor[convs.length];
            for (int i = 0; i < convs.length; i++) {
                ConvParams p = convs[i].params();
                outs[i] = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, convs[i].outChannels(), p.outH(hw),
                        p.outW(hw)));
            }
            Tensor stemOut = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, c, hw, hw));
            Tensor pooled = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, c, hw / 2, hw / 2));
            Tensor global = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, c, 1, 1));
            Tensor sum = Tensor.allocate(arena, DType.FLOAT32, Shape.of(1, c, hw, hw));
            long end = System.nanoTime() + millis * 1_000_000L;
            for (int it = 0; it < 1000 && System.nanoTime() < end; it++) {
                for (int i = 0; i < convs.length; i++) {
                    convs[i].forward(gemm, x, outs[i]);
                }
                stem.forward(gemm, x3, stemOut);
                wideDepthwise.forward(gemm, x3, wideOut);
                wideStrided.forward(gemm, x3, wideStridedOut);
                wideStrided.forward(gemm, odd, oddOut);
                if (phased.takesPhases(hw, hw)) {
                    Conv2d.splitPhases(x.segment(), x.offset(), c, hw, hw, phases.segment(), phases.offset());
                    phased.forwardPhases(gemm, phases.segment(), phases.offset(), hw, hw, outs[6].segment(),
                            outs[6].offset());
                }
                Pooling.maxPool(gemm.pool(), x, pooled, ConvParams.square(3, 2, 1), false);
                Pooling.globalAveragePool(gemm.pool(), x, global);
                Elementwise.binary(gemm.pool(), Elementwise.BinaryOp.ADD, x, outs[0], sum);
            }
        }
    }

    private static Conv2d conv(ConvParams p, int cin, int cout, int groups, Activation act, Arena arena) {
        Tensor w = Tensor.allocate(arena, DType.FLOAT32, Shape.of(cout, cin / groups, p.kernelH(), p.kernelW()));
        return Conv2d.prepare(p, cin, w, new float[cout], act);
    }
}
