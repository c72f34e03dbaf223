package dev.tandem.cuda.check;

import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Every op the CUDA executor claims, run as a one-node graph on random inputs through the CPU backend's planner and
 * executor and through a {@link DeviceSession}, outputs (and inputs written in place) compared. The CPU backend is
 * the reference. Float32 tolerances fit a session opened without TF32.
 */
public final class OpParity {
    /** One op case: its graph inputs (indexes in {@code known} are plan-time constants) and what it checks. */
    public record Case(String name, String domain, String type, int outputs, Tensor[] inputs, boolean[] known,
                       Map<String, Attribute> attrs, double atol, double rtol, int[] written) {
    }

    private OpParity() {
    }

    private static final String T = Node.TANDEM_DOMAIN;

    static Tensor rand(SplittableRandom r, double lo, double hi, int... dims) {
        Tensor t = Tensor.allocate(DType.FLOAT32, Shape.of(dims));
        float[] v = new float[(int) t.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        t.copyFrom(v);
        return t;
    }

    static Tensor longs(long... v) {
        return Tensor.ofLongs(Shape.of(v.length), v);
    }

    static Tensor labels(SplittableRandom r, int n, int classes) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextInt(classes);
        }
        return longs(v);
    }

    static Map<String, Attribute> attrs(Object... kv) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            String k = (String) kv[i];
            Object v = kv[i + 1];
            m.put(k, switch (v) {
                case Long l -> Attribute.of(k, l);
                case Integer n -> Attribute.of(k, (long) n);
                case Float f -> Attribute.of(k, f);
                case Double d -> Attribute.of(k, d.floatValue());
                case String s -> Attribute.of(k, s);
                case long[] a -> Attribute.of(k, a);
                default -> throw new IllegalArgumentException(k);
            });
        }
        return m;
    }

    private static Case c(String name, String domain, String type, int outputs, Tensor[] in, Map<String, Attribute> a,
                          double tol, int... written) {
        return new Case(name, domain, type, outputs, in, new boolean[in.length], a, tol, tol, written);
    }

    private static Case known(Case c, int... idx) {
        boolean[] k = c.known().clone();
        for (int i : idx) {
            k[i] = true;
        }
        return new Case(c.name(), c.domain(), c.type(), c.outputs(), c.inputs(), k, c.attrs(), c.atol(), c.rtol(),
                c.written());
    }

    /**
     * {@code c} for a bfloat16 mixed-precision session: a copy whose float32 inputs are rounded to bfloat16 (to
     * nearest even), with the bounds {@code atol + rtol·|x|}. The device's casts of such inputs are exact, so what
     * is left between the CPU and the device is float32 summation order and, for a convolution, the bfloat16
     * rounding of its result (cuDNN writes it in bfloat16; a bias is added after, in float32). Comparing against
     * the CPU on unrounded inputs would need bounds for the inputs' rounding summed over every term, loose enough
     * to hide a wrong operand and still, with a thousand terms, a few standard deviations from failing by chance.
     */
    public static Case roundedToBf16(Case c, double atol, double rtol) {
        Tensor[] in = new Tensor[c.inputs().length];
        for (int i = 0; i < in.length; i++) {
            Tensor t = c.inputs()[i];
            if (t == null || t.dtype() != DType.FLOAT32) {
                in[i] = t;
                continue;
            }
            float[] v = floats(t);
            for (int k = 0; k < v.length; k++) {
                v[k] = KernelReference.fromBf16(KernelReference.toBf16(v[k]));
            }
            in[i] = Tensor.allocate(DType.FLOAT32, t.shape());
            in[i].copyFrom(v);
        }
        return new Case(c.name(), c.domain(), c.type(), c.outputs(), in, c.known(), c.attrs(), atol, rtol,
                c.written());
    }

    /** Every case, deterministic. */
    public static List<Case> all() {
        SplittableRandom r = new SplittableRandom(7);
        List<Case> cs = new ArrayList<>();
        Map<String, Attribute> conv3 = attrs("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1},
                "strides", new long[] {1, 1}, "dilations", new long[] {1, 1}, "group", 1L);
        Map<String, Attribute> conv3s2g2 = attrs("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1},
                "strides", new long[] {2, 2}, "group", 2L);
        cs.add(c("Conv 3x3 pad 1 + bias", "", "Conv", 1, new Tensor[] {rand(r, -1, 1, 4, 8, 10, 10),
                rand(r, -0.3, 0.3, 16, 8, 3, 3), rand(r, -1, 1, 16)}, conv3, 1e-4));
        cs.add(c("Conv 3x3 stride 2 groups 2", "", "Conv", 1, new Tensor[] {rand(r, -1, 1, 2, 4, 9, 7),
                rand(r, -0.3, 0.3, 6, 2, 3, 3)}, conv3s2g2, 1e-4));
        cs.add(known(c("ConvGradInput 3x3 pad 1", T, "ConvGradInput", 1, new Tensor[] {rand(r, -1, 1, 4, 16, 10, 10),
                rand(r, -0.3, 0.3, 16, 8, 3, 3), longs(4, 8, 10, 10)}, conv3, 1e-4), 2));
        cs.add(known(c("ConvGradWeight 3x3 pad 1", T, "ConvGradWeight", 1, new Tensor[] {
                rand(r, -1, 1, 4, 16, 10, 10), rand(r, -1, 1, 4, 8, 10, 10), longs(16, 8, 3, 3)}, conv3, 1e-4), 2));
        cs.add(known(c("ConvGradWeight stride 2 groups 2", T, "ConvGradWeight", 1, new Tensor[] {
                rand(r, -1, 1, 2, 6, 5, 4), rand(r, -1, 1, 2, 4, 9, 7), longs(6, 2, 3, 3)}, conv3s2g2, 1e-4), 2));
        Map<String, Attribute> dw1 = attrs("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1},
                "strides", new long[] {1, 1}, "group", 16L);
        Map<String, Attribute> dw2 = attrs("kernel_shape", new long[] {3, 3}, "pads", new long[] {1, 1, 1, 1},
                "strides", new long[] {2, 2}, "group", 16L);
        Map<String, Attribute> pw = attrs("kernel_shape", new long[] {1, 1}, "pads", new long[] {0, 0, 0, 0},
                "strides", new long[] {1, 1}, "group", 1L);
        cs.add(c("Conv depthwise 3x3", "", "Conv", 1, new Tensor[] {rand(r, -1, 1, 8, 16, 12, 12),
                rand(r, -0.5, 0.5, 16, 1, 3, 3)}, dw1, 1e-4));
        cs.add(c("Conv depthwise 3x3 stride 2", "", "Conv", 1, new Tensor[] {rand(r, -1, 1, 8, 16, 11, 11),
                rand(r, -0.5, 0.5, 16, 1, 3, 3)}, dw2, 1e-4));
        cs.add(known(c("ConvGradInput depthwise 3x3 stride 2", T, "ConvGradInput", 1, new Tensor[] {
                rand(r, -1, 1, 8, 16, 6, 6), rand(r, -0.5, 0.5, 16, 1, 3, 3), longs(8, 16, 11, 11)}, dw2, 1e-4), 2));
        cs.add(known(c("ConvGradWeight depthwise 3x3", T, "ConvGradWeight", 1, new Tensor[] {
                rand(r, -1, 1, 8, 16, 12, 12), rand(r, -1, 1, 8, 16, 12, 12), longs(16, 1, 3, 3)}, dw1, 1e-4), 2));
        cs.add(known(c("ConvGradWeight depthwise 3x3 stride 2", T, "ConvGradWeight", 1, new Tensor[] {
                rand(r, -1, 1, 8, 16, 6, 6), rand(r, -1, 1, 8, 16, 11, 11), longs(16, 1, 3, 3)}, dw2, 1e-4), 2));
        cs.add(known(c("ConvGradWeight 1x1", T, "ConvGradWeight", 1, new Tensor[] {
                rand(r, -1, 1, 8, 24, 7, 7), rand(r, -1, 1, 8, 16, 7, 7), longs(24, 16, 1, 1)}, pw, 1e-4), 2));
        cs.add(c("BatchNormTrain", T, "BatchNormTrain", 3, new Tensor[] {rand(r, -2, 3, 4, 6, 5, 5),
                rand(r, 0.5, 1.5, 6), rand(r, -1, 1, 6), rand(r, -1, 1, 6), rand(r, 0.5, 2, 6)},
                attrs("epsilon", 1e-5f, "momentum", 0.1f), 1e-4, 3, 4));
        cs.add(c("BatchNormGrad", T, "BatchNormGrad", 3, new Tensor[] {rand(r, -1, 1, 4, 6, 5, 5),
                rand(r, -2, 3, 4, 6, 5, 5), rand(r, 0.5, 1.5, 6), rand(r, -1, 1, 6), rand(r, 0.5, 2, 6)}, attrs(),
                1e-4));
        cs.add(c("BatchNormalization (inference)", "", "BatchNormalization", 1, new Tensor[] {
                rand(r, -2, 3, 3, 5, 4, 6), rand(r, 0.5, 1.5, 5), rand(r, -1, 1, 5), rand(r, -1, 1, 5),
                rand(r, 0.5, 2, 5)}, attrs("epsilon", 1e-5f), 1e-5));
        cs.add(c("Relu", "", "Relu", 1, new Tensor[] {rand(r, -1, 1, 3, 1001)}, attrs(), 0));
        Tensor y = rand(r, -1, 1, 3, 1001);
        cs.add(new Case("ActivationGrad Relu", T, "ActivationGrad", 1, new Tensor[] {rand(r, -1, 1, 3, 1001), null, y},
                new boolean[3], attrs("activation", "Relu"), 0, 0, new int[0]));
        cs.add(known(c("Clip 0..6 (ReLU6)", "", "Clip", 1, new Tensor[] {rand(r, -3, 9, 4, 500),
                Tensor.ofFloats(Shape.scalar(), 0f), Tensor.ofFloats(Shape.scalar(), 6f)}, attrs(), 0), 1, 2));
        cs.add(known(new Case("ActivationGrad Clip 0..6", T, "ActivationGrad", 1, new Tensor[] {rand(r, -1, 1, 4, 500),
                rand(r, -3, 9, 4, 500), null, Tensor.ofFloats(Shape.scalar(), 0f), Tensor.ofFloats(Shape.scalar(), 6f)},
                new boolean[5], attrs("activation", "Clip"), 0, 0, new int[0]), 3, 4));
        cs.add(known(c("CastLike of a float64 constant", "", "CastLike", 1, new Tensor[] {
                Tensor.ofDoubles(Shape.scalar(), 1.25), rand(r, -1, 1, 1)}, attrs(), 0), 0));
        cs.add(c("Sum of three", "", "Sum", 1, new Tensor[] {rand(r, -1, 1, 3, 77), rand(r, -1, 1, 3, 77),
                rand(r, -1, 1, 3, 77)}, attrs(), 1e-6));
        Map<String, Attribute> mp2 = attrs("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}, "pads",
                new long[] {0, 0, 0, 0});
        Map<String, Attribute> mp3 = attrs("kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2}, "pads",
                new long[] {1, 1, 1, 1});
        cs.add(c("MaxPool 2x2/2", "", "MaxPool", 1, new Tensor[] {rand(r, -1, 1, 2, 5, 8, 8)}, mp2, 0));
        cs.add(c("MaxPool 3x3/2 pad 1", "", "MaxPool", 1, new Tensor[] {rand(r, -1, 1, 2, 5, 9, 7)}, mp3, 0));
        Map<String, Attribute> mp2g = new LinkedHashMap<>(mp2);
        mp2g.put("mode", Attribute.of("mode", "max"));
        cs.add(c("PoolGrad max 2x2/2", T, "PoolGrad", 1, new Tensor[] {rand(r, -1, 1, 2, 5, 4, 4),
                rand(r, -1, 1, 2, 5, 8, 8)}, mp2g, 1e-6));
        Map<String, Attribute> mp3g = new LinkedHashMap<>(mp3);
        mp3g.put("mode", Attribute.of("mode", "max"));
        cs.add(c("PoolGrad max 3x3/2 pad 1", T, "PoolGrad", 1, new Tensor[] {rand(r, -1, 1, 2, 5, 5, 4),
                rand(r, -1, 1, 2, 5, 9, 7)}, mp3g, 1e-6));
        cs.add(c("GlobalAveragePool", "", "GlobalAveragePool", 1, new Tensor[] {rand(r, -1, 1, 3, 7, 6, 5)}, attrs(),
                1e-5));
        cs.add(c("PoolGrad global average", T, "PoolGrad", 1, new Tensor[] {rand(r, -1, 1, 3, 7, 1, 1),
                rand(r, -1, 1, 3, 7, 6, 5)}, attrs("mode", "global_average"), 1e-6));
        cs.add(c("DropoutTrain 0.25", T, "DropoutTrain", 2, new Tensor[] {rand(r, -1, 1, 7, 1000),
                Tensor.ofLongs(Shape.scalar(), 12345L)}, attrs("ratio", 0.25f), 0));
        cs.add(c("Gemm transB + bias", "", "Gemm", 1, new Tensor[] {rand(r, -1, 1, 16, 50), rand(r, -1, 1, 12, 50),
                rand(r, -1, 1, 12)}, attrs("transB", 1L), 1e-4));
        cs.add(c("Gemm transA transB alpha", "", "Gemm", 1, new Tensor[] {rand(r, -1, 1, 30, 16),
                rand(r, -1, 1, 12, 30)}, attrs("transA", 1L, "transB", 1L, "alpha", 0.5f), 1e-4));
        cs.add(c("Gemm with C matrix, beta 0.5", "", "Gemm", 1, new Tensor[] {rand(r, -1, 1, 9, 20),
                rand(r, -1, 1, 20, 11), rand(r, -1, 1, 9, 11)}, attrs("beta", 0.5f), 1e-4));
        cs.add(c("MatMul", "", "MatMul", 1, new Tensor[] {rand(r, -1, 1, 9, 20), rand(r, -1, 1, 20, 11)}, attrs(),
                1e-4));
        cs.add(c("SoftmaxCrossEntropy mean, smoothing 0.1", T, "SoftmaxCrossEntropy", 2, new Tensor[] {
                rand(r, -3, 3, 33, 10), labels(r, 33, 10)}, attrs("label_smoothing", 0.1f, "reduction", "mean"),
                1e-5));
        cs.add(c("SoftmaxCrossEntropy sum", T, "SoftmaxCrossEntropy", 2, new Tensor[] {rand(r, -3, 3, 17, 7),
                labels(r, 17, 7)}, attrs("reduction", "sum"), 1e-5));
        Tensor logp = rand(r, -3, 0, 33, 10);
        cs.add(c("SoftmaxCrossEntropyGrad mean, smoothing 0.1", T, "SoftmaxCrossEntropyGrad", 1, new Tensor[] {
                Tensor.ofFloats(Shape.scalar(), 1.5f), logp, labels(r, 33, 10)},
                attrs("label_smoothing", 0.1f, "reduction", "mean"), 1e-5));
        cs.add(c("ArgMax axis 1", "", "ArgMax", 1, new Tensor[] {rand(r, -1, 1, 40, 10)},
                attrs("axis", 1L, "keepdims", 0L), 0));
        cs.add(c("Equal int64", "", "Equal", 1, new Tensor[] {labels(r, 50, 3), labels(r, 50, 3)}, attrs(), 0));
        cs.add(c("ReduceSum int64", "", "ReduceSum", 1, new Tensor[] {labels(r, 50, 9)}, attrs("keepdims", 0L), 0));
        cs.add(c("ReduceSum float", "", "ReduceSum", 1, new Tensor[] {rand(r, -1, 1, 30, 40)}, attrs("keepdims", 0L),
                1e-4));
        cs.add(known(c("ReduceToShape rows", T, "ReduceToShape", 1, new Tensor[] {rand(r, -1, 1, 37, 12),
                longs(12)}, attrs(), 1e-5), 1));
        cs.add(known(c("ReduceToShape NCHW bias", T, "ReduceToShape", 1, new Tensor[] {rand(r, -1, 1, 3, 6, 5, 4),
                longs(1, 6, 1, 1)}, attrs(), 1e-5), 1));
        cs.add(c("Add", "", "Add", 1, new Tensor[] {rand(r, -1, 1, 5, 77), rand(r, -1, 1, 5, 77)}, attrs(), 0));
        cs.add(c("Mul", "", "Mul", 1, new Tensor[] {rand(r, -1, 1, 5, 77), rand(r, -1, 1, 5, 77)}, attrs(), 0));
        cs.add(c("Sub", "", "Sub", 1, new Tensor[] {rand(r, -1, 1, 5, 77), rand(r, -1, 1, 5, 77)}, attrs(), 0));
        cs.add(c("SgdStep Nesterov, decay mask, momentum input", T, "SgdStep", 1, new Tensor[] {
                Tensor.ofFloats(Shape.scalar(), 0.05f), Tensor.ofFloats(Shape.scalar(), 0.9f),
                rand(r, -1, 1, 64, 9), rand(r, -1, 1, 64), rand(r, -1, 1, 64, 9), rand(r, -1, 1, 64),
                rand(r, -1, 1, 64, 9), rand(r, -1, 1, 64)},
                attrs("momentum", 0.5f, "nesterov", 1L, "weight_decay", 5e-4f, "decay", new long[] {1, 0}), 1e-5,
                2, 3, 6, 7));
        cs.add(c("AdamStep, decay mask, step 3", T, "AdamStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.01f),
                Tensor.ofLongs(Shape.scalar(), 3L), rand(r, -1, 1, 40, 9), rand(r, -1, 1, 40), rand(r, -1, 1, 40, 9),
                rand(r, -1, 1, 40), rand(r, -0.1, 0.1, 40, 9), rand(r, -0.1, 0.1, 40), rand(r, 0, 0.01, 40, 9),
                rand(r, 0, 0.01, 40)}, attrs("weight_decay", 1e-2f, "decay", new long[] {1, 0}), 1e-5,
                2, 3, 6, 7, 8, 9));
        cs.add(c("AdamW with clipping", T, "AdamStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.01f),
                Tensor.ofLongs(Shape.scalar(), 1L), rand(r, -1, 1, 300), rand(r, -3, 3, 300), rand(r, -0.1, 0.1, 300),
                rand(r, 0, 0.01, 300)}, attrs("weight_decay", 1e-2f, "decoupled", 1L, "max_grad_norm", 1f), 1e-5,
                2, 4, 5));
        cs.add(c("SgdStep with clipping", T, "SgdStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.1f),
                rand(r, -1, 1, 300), rand(r, -3, 3, 300), rand(r, -1, 1, 300)},
                attrs("momentum", 0.9f, "max_grad_norm", 1f), 1e-5, 1, 3));
        return cs;
    }

    /** The case's one-node graph (the caller closes it). */
    public static Graph graph(Case c) {
        Graph g = new Graph();
        g.opsets().put("", 17);
        g.opsets().put(Node.TANDEM_DOMAIN, 1);
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < c.inputs().length; i++) {
            if (c.inputs()[i] == null) {
                in.add(null);
                continue;
            }
            Value v = g.value("x" + i);
            g.inputs().add(v);
            in.add(v);
        }
        List<Value> out = new ArrayList<>();
        for (int i = 0; i < c.outputs(); i++) {
            out.add(g.value("y" + i));
        }
        g.add(new Node("n", c.type(), c.domain(), in, out, new LinkedHashMap<>(c.attrs())));
        g.outputs().addAll(out);
        return g;
    }

    private static Tensor copy(Tensor t) {
        Tensor c = Tensor.allocate(t.dtype(), t.shape());
        c.copyFrom(t);
        return c;
    }

    private static double[] doubles(Tensor t) {
        double[] d = new double[(int) t.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = Elements.getDouble(t, i);
        }
        return d;
    }

    private static float[] floats(Tensor t) {
        float[] f = new float[(int) t.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) Elements.getDouble(t, i);
        }
        return f;
    }

    /** Runs {@code c} on the CPU and on {@code session}; the outcome compares every output and written input. */
    public static Outcome run(Case c, DeviceSession session, ThreadPool pool) {
        List<Tensor> present = new ArrayList<>();
        List<Boolean> knownList = new ArrayList<>();
        for (int i = 0; i < c.inputs().length; i++) {
            if (c.inputs()[i] != null) {
                present.add(c.inputs()[i]);
                knownList.add(c.known()[i]);
            }
        }
        int n = present.size();
        DType[] types = new DType[n];
        Shape[] shapes = new Shape[n];
        Tensor[] known = new Tensor[n];
        Tensor[] cpuIn = new Tensor[n];
        Tensor[] gpuIn = new Tensor[n];
        for (int i = 0; i < n; i++) {
            types[i] = present.get(i).dtype();
            shapes[i] = present.get(i).shape();
            known[i] = knownList.get(i) ? present.get(i) : null;
            cpuIn[i] = copy(present.get(i));
            gpuIn[i] = copy(present.get(i));
        }
        Graph g = graph(c);
        try (ExecutionPlan plan = ExecutionPlan.build(g, OpRegistry.standard(), new Sgemm(pool),
                new GreedyBySizePlanner(), types, shapes, known);
             DevicePlan dp = session.load(plan)) {
            Tensor[] want = plan.run(cpuIn);
            Tensor[] got = dp.run(gpuIn);
            Outcome o = null;
            for (int k = 0; k < want.length; k++) {
                Outcome x = compare("output " + k, got[k], want[k], c);
                o = o == null ? x : o.and(x);
            }
            for (int w : c.written()) {
                o = o.and(compare("input " + w + " (in place)", gpuIn[w], cpuIn[w], c));
            }
            for (Tensor t : want) {
                t.close();
            }
            for (Tensor t : got) {
                t.close();
            }
            return o;
        } finally {
            for (int i = 0; i < n; i++) {
                cpuIn[i].close();
                gpuIn[i].close();
            }
            g.close();
        }
    }

    private static Outcome compare(String what, Tensor got, Tensor want, Case c) {
        if (got.dtype() != want.dtype() || !got.shape().equals(want.shape())) {
            return new Outcome(Double.POSITIVE_INFINITY, what + ": GPU gave " + got.dtype() + got.shape() + ", CPU "
                    + want.dtype() + want.shape());
        }
        if (got.dtype() == DType.INT64 || got.dtype() == DType.BOOL) {
            long[] a = new long[(int) got.size()], b = new long[(int) want.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = Elements.getLong(got, i);
                b[i] = Elements.getLong(want, i);
            }
            return Outcome.exact(what, a, b);
        }
        return Outcome.compare(what, floats(got), doubles(want), c.atol(), c.rtol());
    }
}
