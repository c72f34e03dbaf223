package dev.tandem.train.nn;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Map;
import java.util.Random;

/** Test support: plans and runs traced graphs with the runtime's standard ops. */
final class Plans {
    private static final ThreadPool POOL = new ThreadPool(2);
    private static final Sgemm GEMM = new Sgemm(POOL);
    private static final OpRegistry OPS = OpRegistry.standard();

    private Plans() {
    }

    /** Runs the graph of {@code t} with {@code inputs} by name (module state bound from the module). */
    static float[] run(Traced t, Map<String, Tensor> inputs) {
        Tensor[] args = t.arguments(inputs);
        DType[] types = new DType[args.length];
        Shape[] shapes = new Shape[args.length];
        for (int i = 0; i < args.length; i++) {
            types[i] = args[i].dtype();
            shapes[i] = args[i].shape();
        }
        try (ExecutionPlan p = ExecutionPlan.build(t.graph(), OPS, GEMM, new GreedyBySizePlanner(), types, shapes,
                null)) {
            Tensor[] out = p.run(args);
            try {
                return out[0].toFloatArray();
            } finally {
                for (Tensor o : out) {
                    o.close();
                }
            }
        }
    }

    /** Traces {@code m} in EVAL mode for {@code shape} and runs it on {@code x}. */
    static float[] runEval(Module m, float[] x, int... shape) {
        try (Traced t = m.trace(TraceMode.EVAL, shape); Tensor in = Tensor.ofFloats(Shape.of(shape), x)) {
            return run(t, Map.of("input", in));
        }
    }

    static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    static int size(int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }
}
