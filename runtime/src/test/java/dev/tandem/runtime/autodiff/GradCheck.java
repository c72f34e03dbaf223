package dev.tandem.runtime.autodiff;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Random;

/**
 * A gradient check: builds a small graph around the op under test, reduces its output to a scalar
 * {@code L = Σ Y·R} with a random R, differentiates L with {@link Gradients}, and compares, in float64, each
 * analytic partial derivative with a central finite difference. Then runs the same graph in float32 and checks
 * the float32 gradients (the fast kernels) against the float64 ones.
 */
final class GradCheck {
    /** Emits the nodes under test on {@code inputs}, returning the output to differentiate. */
    interface Body {
        Value build(Graph g, List<Value> inputs);
    }

    static final double H = 1e-6;
    private final Sgemm gemm;
    private final Random rnd;
    private final OpRegistry registry = OpRegistry.standard();

    GradCheck(ThreadPool pool, long seed) {
        this.gemm = new Sgemm(pool);
        this.rnd = new Random(seed);
    }

    /** Uniform values in [lo, hi) at least {@code gap} away from each of {@code kinks}. */
    Tensor uniform(double lo, double hi, double gap, double[] kinks, int... dims) {
        Shape s = Shape.of(dims);
        double[] v = new double[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            double x;
            boolean near;
            do {
                x = lo + (hi - lo) * rnd.nextDouble();
                near = false;
                for (double k : kinks) {
                    near |= Math.abs(x - k) < gap;
                }
            } while (near);
            v[i] = x;
        }
        return Tensor.ofDoubles(s, v);
    }

    Tensor uniform(int... dims) {
        return uniform(-1, 1, 0, new double[0], dims);
    }

    static Value node(Graph g, String domain, String type, List<Value> in, Attribute... attrs) {
        return nodeN(g, domain, type, 1, in, attrs)[0];
    }

    static Value[] nodeN(Graph g, String domain, String type, int outs, List<Value> in, Attribute... attrs) {
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (Attribute a : attrs) {
            m.put(a.name(), a);
        }
        List<Value> o = new ArrayList<>();
        for (int i = 0; i < outs; i++) {
            o.add(g.newValue(type));
        }
        g.add(new Node(type + "_" + g.nodes().size(), type, domain, in, o, m));
        return o.toArray(new Value[0]);
    }

    static Value constant(Graph g, Tensor t) {
        Value v = g.newValue("c");
        v.setConstant(t);
        return v;
    }

    /**
     * Checks the gradients of {@code body} with respect to the inputs flagged in {@code wrt}.
     *
     * @param inputs float64 (converted to float32 for the second half) or integer tensors
     */
    void check(String label, int opset, Body body, Tensor[] inputs, boolean[] wrt) {
        double[][] g64 = analytic(opset, body, inputs, wrt, DType.FLOAT64, null);
        {
            double[] r = lastR;
            for (int i = 0; i < inputs.length; i++) {
                if (!wrt[i]) {
                    continue;
                }
                assertThat(g64[i]).as(label + ": input " + i + " gets a gradient").isNotNull();
                int n = g64[i].length;
                int samples = Math.min(n, 24);
                for (int s = 0; s < samples; s++) {
                    int j = n <= 24 ? s : rnd.nextInt(n);
                    double numeric = numeric(opset, body, inputs, i, j, r);
                    double a = g64[i][j];
                    assertThat(Math.abs(a - numeric)).as("%s: dL/dx%d[%d] analytic %s, finite difference %s", label,
                            i, j, a, numeric).isLessThanOrEqualTo(1e-6 + 1e-5 * Math.abs(numeric));
                }
            }
        }
        Tensor[] f32 = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            f32[i] = inputs[i].dtype() == DType.FLOAT64 ? toFloat(inputs[i]) : inputs[i];
        }
        try {
            double[][] g32 = analytic(opset, body, f32, wrt, DType.FLOAT32, lastR);
            for (int i = 0; i < inputs.length; i++) {
                if (!wrt[i]) {
                    continue;
                }
                double scale = 0;
                for (double v : g64[i]) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int j = 0; j < g64[i].length; j++) {
                    assertThat(Math.abs(g32[i][j] - g64[i][j])).as("%s: float32 dL/dx%d[%d] %s vs float64 %s",
                            label, i, j, g32[i][j], g64[i][j]).isLessThanOrEqualTo(1e-4 * Math.max(1, scale));
                }
            }
        } finally {
            for (int i = 0; i < inputs.length; i++) {
                if (f32[i] != inputs[i]) {
                    f32[i].close();
                }
            }
        }
    }

    private double[] lastR;

    /** Runs forward and backward; returns per input its gradient (null where not asked). */
    private double[][] analytic(int opset, Body body, Tensor[] inputs, boolean[] wrt, DType t, double[] fixedR) {
        Graph g = new Graph();
        g.opsets().put("", opset);
        List<Value> ins = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            Value v = g.value("x" + i);
            g.inputs().add(v);
            ins.add(v);
        }
        Value y = body.build(g, ins);
        Shape ys;
        g.outputs().add(y);
        try (ExecutionPlan p = plan(g, inputs)) {
            ys = p.outputs().get(0).shape();
        }
        g.outputs().clear();
        double[] r = fixedR;
        if (r == null) {
            r = new double[(int) ys.size()];
            for (int j = 0; j < r.length; j++) {
                r[j] = rnd.nextDouble() * 2 - 1;
            }
        }
        lastR = r;
        Value rv = constant(g, t == DType.FLOAT64 ? Tensor.ofDoubles(ys, r) : Tensor.ofFloats(ys, floats(r)));
        Value loss = node(g, "", "ReduceSum", List.of(node(g, "", "Mul", List.of(y, rv))),
                Attribute.of("keepdims", 0L));
        List<Value> targets = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            if (wrt[i]) {
                targets.add(ins.get(i));
            }
        }
        Map<Value, Value> grads = Gradients.standard().build(g, loss, targets);
        g.outputs().add(loss);
        for (Value v : targets) {
            g.outputs().add(grads.get(v));
        }
        double[][] out = new double[inputs.length][];
        try (ExecutionPlan p = plan(g, inputs)) {
            Tensor[] res = p.run(inputs);
            int k = 1;
            for (int i = 0; i < inputs.length; i++) {
                if (wrt[i]) {
                    out[i] = read(res[k++]);
                }
            }
            for (Tensor x : res) {
                x.close();
            }
        } finally {
            g.close();
        }
        return out;
    }

    /** The central difference of L along element j of input i (float64). */
    private double numeric(int opset, Body body, Tensor[] inputs, int i, int j, double[] r) {
        Graph g = new Graph();
        g.opsets().put("", opset);
        List<Value> ins = new ArrayList<>();
        for (int k = 0; k < inputs.length; k++) {
            Value v = g.value("x" + k);
            g.inputs().add(v);
            ins.add(v);
        }
        Value y = body.build(g, ins);
        g.outputs().add(y);
        Tensor[] moved = inputs.clone();
        double x0 = Elements.getDouble(inputs[i], j);
        try (ExecutionPlan p = plan(g, inputs); Tensor copy = Tensor.allocate(DType.FLOAT64, inputs[i].shape())) {
            copy.copyFrom(inputs[i]);
            moved[i] = copy;
            Elements.setDouble(copy, j, x0 + H);
            double plus = dot(p, moved, r);
            Elements.setDouble(copy, j, x0 - H);
            double minus = dot(p, moved, r);
            return (plus - minus) / (2 * H);
        } finally {
            g.close();
        }
    }

    private static double dot(ExecutionPlan p, Tensor[] inputs, double[] r) {
        Tensor[] res = p.run(inputs);
        try {
            double[] y = read(res[0]);
            double s = 0;
            for (int k = 0; k < y.length; k++) {
                s += y[k] * r[k];
            }
            return s;
        } finally {
            for (Tensor x : res) {
                x.close();
            }
        }
    }

    private ExecutionPlan plan(Graph g, Tensor[] inputs) {
        DType[] types = new DType[inputs.length];
        Shape[] shapes = new Shape[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            types[i] = inputs[i].dtype();
            shapes[i] = inputs[i].shape();
        }
        return ExecutionPlan.build(g, registry, gemm, new GreedyBySizePlanner(), types, shapes, null);
    }

    static double[] read(Tensor t) {
        double[] v = new double[(int) t.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = Elements.getDouble(t, i);
        }
        return v;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static Tensor toFloat(Tensor t) {
        return Tensor.ofFloats(t.shape(), floats(read(t)));
    }
}
